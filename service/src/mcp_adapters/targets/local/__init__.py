"""The `local` target: each adapter as `replicaCount` supervised `mcp-bridge` processes on loopback ports."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
from mcp_infra.spec import PLATFORM_ENV, AdapterSpec, read_by_proxy

from mcp_adapters.models import REDACTED, PlannedResource
from mcp_adapters.settings import Settings
from mcp_adapters.targets import _procs
from mcp_adapters.targets.base import Endpoint, OperationLog, TargetPreview, TargetStatus, UnsupportedSpec
from mcp_adapters.targets.local import _logs
from mcp_adapters.targets.local._replica import Backoff, PidFile, Replica, ReplicaConfig
from mcp_adapters.targets.local._sandbox import choose
from mcp_adapters.targets.local._starts import StartGate

logger = logging.getLogger("mcp_adapters.local")
# How often replicas' logs are measured: one that floods can overrun LOG_MAX_BYTES by what it writes in this time
# (the bridge logs at most 100 lines a second of its server's stderr).
LOG_CHECK_SECONDS = 2.0

SUPPORTED_IMAGE = "mcp-proxy"
OWNER_ENV = "MCP_ADAPTERS_OWNER"
_AZURE_WORKLOAD_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE")


class LocalTarget:
    name = "local"
    # Readiness changes arrive through `on_change`: this only bounds how late a missed one is noticed.
    progress_interval = 5.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready_timeout = settings.local_ready_timeout
        self.root = settings.state_dir.resolve() / "local"
        self.backoff = Backoff(
            settings.local_restart_initial_seconds,
            settings.local_restart_max_seconds,
            settings.local_stop_grace_seconds,
        )
        self._replicas: dict[str, list[Replica]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._http = httpx.AsyncClient(trust_env=False)
        self._gate = StartGate(settings.local_start_concurrency, settings.local_start_hold_seconds)
        self._notify: Callable[[str], None] = lambda _name: None
        self._log_keeper: asyncio.Task[None] | None = None
        self.sandbox = choose(
            settings.local_sandbox, hidden=(settings.state_dir.resolve(),), development=settings.dev_mode
        )

    async def start(self) -> None:
        """Adopt the replicas a previous run left behind, when they are still the processes it started."""
        self.root.mkdir(parents=True, exist_ok=True)
        for directory in sorted(p for p in self.root.iterdir() if p.is_dir()):
            adopted: list[Replica] = []
            for pid_path in sorted(directory.glob("*.pid")):
                record = PidFile.read(pid_path)
                if record is None or not _procs.is_ours(record.pid, record.start_time, record.replica_id):
                    pid_path.unlink(missing_ok=True)
                    continue
                config = ReplicaConfig(record.replica_id, record.port, (), {}, record.config_hash)
                replica = self._replica(config, directory)
                replica.run(adopt=record)
                adopted.append(replica)
            if adopted:
                self._replicas[directory.name] = sorted(adopted, key=lambda r: _index(r.config.replica_id))
        self._stop_strays()
        self._log_keeper = asyncio.create_task(self._keep_logs_bounded())

    async def _keep_logs_bounded(self) -> None:
        """A replica that prints without pause (a server flooding stderr) must not fill the disk: one task for all
        of them, not one each (a thousand replicas would be a thousand wake-ups)."""
        while True:
            await asyncio.sleep(LOG_CHECK_SECONDS)
            logs = [(r.log_path, r.max_log_bytes) for replicas in self._replicas.values() for r in replicas]
            await asyncio.to_thread(_cut_down_all, logs)

    def _stop_strays(self) -> None:
        """Kill what carries this state dir's mark but is no adopted replica: a process a previous run started
        and died before recording, or was stopping when it died. Left alone it would run (and hold its port)
        beside the replica that replaces it, for ever."""
        kept = {r.pid for replicas in self._replicas.values() for r in replicas if r.pid is not None}
        parents = _procs.parent_map()  # read /proc once, not once per replica
        kept |= {child for pid in list(kept) for child in _procs.descendants(pid, parents)}
        strays = [pid for pid in _procs.marked(f"{OWNER_ENV}={self.root}".encode()) if pid not in kept]
        for pid in strays:
            logger.warning("stopping process %s: a replica a previous run started but no pid file records", pid)
            _procs.kill_tree(pid)

    async def close(self) -> None:
        """Stop every replica: the data plane goes through this service, so they would serve nobody."""
        if self._log_keeper is not None:
            self._log_keeper.cancel()
        await asyncio.gather(*(self._stop_all(name) for name in list(self._replicas)))
        await self._http.aclose()

    def running(self) -> set[str]:
        return set(self._replicas)

    def on_change(self, notify: Callable[[str], None]) -> None:
        self._notify = notify

    def problem(self) -> str | None:
        return None

    async def interrupt(self) -> None:
        """Nothing to interrupt: an apply only starts or stops processes, which takes moments."""

    async def refresh(self, spec: AdapterSpec, log: OperationLog) -> None:
        replicas = self._replicas.get(spec.name, [])
        alive = sum(1 for r in replicas if r.pid)
        log.write(f"{alive} of {len(replicas)} replica process(es) running; the supervisor restarts the others")

    def _replica(self, config: ReplicaConfig, directory: Path) -> Replica:
        name = directory.name
        replica = Replica(
            config,
            directory,
            self.backoff,
            self._http,
            self.sandbox,
            gate=self._gate,
            on_change=lambda: self._notify(name),
        )
        replica.max_log_bytes = self.settings.log_max_bytes
        return replica

    def check_supported(self, spec: AdapterSpec) -> None:
        image = spec.image_name.rsplit("/", 1)[-1]
        if image != SUPPORTED_IMAGE:
            raise UnsupportedSpec(
                f"the local target runs only the {SUPPORTED_IMAGE} image (the mcp-bridge program), not "
                f"{spec.image_name}: use imageName {SUPPORTED_IMAGE}, or deploy to Kubernetes",
                reason="UnsupportedImage",
            )
        if spec.use_workload_identity and not all(os.environ.get(k) for k in _AZURE_WORKLOAD_ENV):
            raise UnsupportedSpec(
                "useWorkloadIdentity needs Azure workload identity, which this machine does not have "
                f"({', '.join(_AZURE_WORKLOAD_ENV)} are not set for the service): deploy to Kubernetes on AKS, "
                "or set useWorkloadIdentity to false",
                reason="WorkloadIdentityUnavailable",
            )
        if spec.mode == "unset":
            raise UnsupportedSpec(
                "environmentVariables names no server: set MCP_COMMAND (and MCP_ARGS) to bridge a stdio server, "
                "or MCP_PROXY_URL to forward to a remote one",
                reason="NoServer",
            )

    def _configs(self, spec: AdapterSpec, current: list[Replica]) -> list[ReplicaConfig]:
        ports: list[int] = []
        for index in range(spec.replica_count):
            kept = current[index].config.port if index < len(current) else None
            ports.append(kept if kept is not None and (current[index].pid or _procs.port_free(kept)) else 0)
        ports = [p or _procs.free_port() for p in ports]
        ids = [f"{spec.name}-{i}" for i in range(spec.replica_count)]
        base = {k: v for k in self.settings.local_pass_env if (v := os.environ.get(k)) is not None}
        user = {k: v for k, v in spec.environment_variables.items() if k not in PLATFORM_ENV}
        # The server gets these (and the bridge's baseline), never the rest of the bridge's environment.
        server_env = ",".join(sorted(k for k in base.keys() | user.keys() if not read_by_proxy(k)))
        configs = []
        for replica_id, port in zip(ids, ports, strict=True):
            peers = ",".join(f"{i}=http://127.0.0.1:{p}" for i, p in zip(ids, ports, strict=True) if i != replica_id)
            env = {
                **base,
                **user,
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "MCP_BRIDGE_REPLICA_ID": replica_id,
                "MCP_BRIDGE_PEERS": peers,
                "MCP_BRIDGE_SERVER_ENV": server_env,
                # Marks the process (and what it starts) as this service's, for adoption and for audits.
                OWNER_ENV: str(self.root),
            }
            argv = (str(self.settings.bridge_command),)
            digest = hashlib.sha256(json.dumps([argv, sorted(env.items())]).encode()).hexdigest()
            configs.append(ReplicaConfig(replica_id, port, argv, env, digest))
        return configs

    async def apply(self, spec: AdapterSpec, log: OperationLog) -> None:
        self.check_supported(spec)
        if not self.settings.bridge_command.exists():
            raise UnsupportedSpec(
                f"{self.settings.bridge_command} does not exist: install mcp-bridge", reason="BridgeMissing"
            )
        async with self._lock(spec.name):
            directory = self.root / spec.name
            directory.mkdir(parents=True, exist_ok=True)
            current = self._replicas.get(spec.name, [])
            configs = self._configs(spec, current)
            updated: list[Replica] = []
            for index, config in enumerate(configs):
                existing = current[index] if index < len(current) else None
                if existing is not None and existing.config.config_hash == config.config_hash:
                    existing.config = config  # an adopted replica learns how to start again, should it exit
                    updated.append(existing)
                    continue
                if existing is not None:
                    log.write(f"replacing {config.replica_id}: its configuration changed")
                    await existing.stop()
                replica = self._replica(config, directory)
                replica.run()
                log.write(f"started {config.replica_id} on 127.0.0.1:{config.port}")
                updated.append(replica)
            for extra in current[len(configs) :]:
                log.write(f"stopping {extra.config.replica_id}: replicaCount is {spec.replica_count}")
                await extra.stop()
            self._replicas[spec.name] = updated

    async def delete(self, name: str, log: OperationLog) -> None:
        async with self._lock(name):
            stopped = await self._stop_all(name)
            if stopped:
                log.write(f"stopped {stopped} replica(s)")
            shutil.rmtree(self.root / name, ignore_errors=True)

    async def _stop_all(self, name: str) -> int:
        replicas = self._replicas.pop(name, [])
        await asyncio.gather(*(r.stop() for r in replicas))
        return len(replicas)

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def status(self, name: str) -> TargetStatus:
        replicas = self._replicas.get(name, [])
        ready = sum(1 for r in replicas if r.ready)
        waiting = [r for r in replicas if not r.ready]
        message = ""
        if waiting:
            first = waiting[0]
            exit_note = f", last exit {first.last_exit}" if first.last_exit is not None else ""
            problem = f", {first.problem}" if first.problem else ""
            logs = f"/adapters/{name}/logs?instance={_index(first.config.replica_id)}"
            message = (
                f"{len(waiting)} of {len(replicas)} replica(s) not ready yet ({first.config.replica_id}: "
                f"{first.restarts} restart(s){exit_note}{problem}); see GET {logs}"
            )
        return TargetStatus(desired=len(replicas), ready=ready, message=message, endpoints=tuple(self.endpoints(name)))

    def endpoints(self, name: str) -> list[Endpoint]:
        return [Endpoint(r.config.replica_id, r.url, r.ready) for r in self._replicas.get(name, [])]

    def _log_path(self, name: str, instance: int) -> Path:
        return self.root / name / f"{name}-{instance}.log"

    async def logs(self, name: str, instance: int, tail: int) -> list[str]:
        return _logs.tail(self._log_path(name, instance), tail)

    def follow(self, name: str, instance: int, tail: int) -> AsyncIterator[str]:
        return _logs.follow(self._log_path(name, instance), tail, lambda: (self.root / name).exists())

    async def preview(self, spec: AdapterSpec) -> TargetPreview:
        self.check_supported(spec)
        env = {k: (REDACTED if k in spec.secret_names() else v) for k, v in spec.environment_variables.items()}
        resources = [
            PlannedResource(
                type="local:process:McpBridge",
                name=f"{spec.name}-{i}",
                inputs={
                    "command": str(self.settings.bridge_command),
                    "host": "127.0.0.1",
                    "port": "a free loopback port",
                    "environment": {k: v for k, v in env.items() if k not in PLATFORM_ENV},
                    "logs": str(self._log_path(spec.name, i)),
                },
            )
            for i in range(spec.replica_count)
        ]
        return TargetPreview(resources)


def _index(replica_id: str) -> int:
    return int(replica_id.rsplit("-", 1)[1])


def _cut_down_all(logs: list[tuple[Path, int]]) -> None:
    for path, limit in logs:
        _logs.cut_down(path, limit)
