"""One `mcp-bridge` process: started in its own process group (in a sandbox, see `_sandbox`), restarted with
backoff, probed for readiness. It starts in a working directory of its own, which is also its HOME.

A pid file (pid, start time, port, config hash) lets a restarted service adopt
the process instead of starting a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from mcp_adapters.targets import _procs
from mcp_adapters.targets.local import _logs
from mcp_adapters.targets.local._sandbox import NO_SANDBOX, Sandbox
from mcp_adapters.targets.local._starts import StartGate, StartSlot

logger = logging.getLogger("mcp_adapters.local")


@dataclass(frozen=True)
class ReplicaConfig:
    replica_id: str
    port: int
    argv: tuple[str, ...]
    env: dict[str, str]
    config_hash: str


@dataclass(frozen=True)
class PidFile:
    pid: int
    start_time: int
    replica_id: str
    port: int
    config_hash: str

    @classmethod
    def read(cls, path: Path) -> PidFile | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Backoff:
    initial: float
    maximum: float
    stop_grace: float
    # How often a ready replica is asked again (one that exits is noticed at once, by its exit).
    ready_interval: float = 2.0


class Replica:
    def __init__(
        self,
        config: ReplicaConfig,
        directory: Path,
        backoff: Backoff,
        http: httpx.AsyncClient,
        sandbox: Sandbox = NO_SANDBOX,
        *,
        gate: StartGate | None = None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.log_path = directory / f"{config.replica_id}.log"
        self.pid_path = directory / f"{config.replica_id}.pid"
        self.work = directory / "work" / config.replica_id
        self.sandbox = sandbox
        self.backoff = backoff
        self.http = http
        self.ready = False
        self.restarts = 0
        self.last_exit: int | None = None
        self.problem: str | None = None  # what the bridge says keeps it from being ready (its server's trouble)
        self.pid: int | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._running = asyncio.Event()  # a process is there to probe
        self._gate = gate
        self._slot: StartSlot | None = None
        self._spawning: asyncio.Future[None] | None = None
        self._on_change = on_change
        self.max_log_bytes = 10 * 1024 * 1024

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def run(self, adopt: PidFile | None = None) -> None:
        """Supervise in the background; adopt the recorded process when it is still ours."""
        if adopt is not None:
            self.pid = adopt.pid
            self._running.set()
            logger.info("adopted replica %s (pid %s)", self.config.replica_id, adopt.pid)
        self._tasks = [
            asyncio.create_task(self._supervise(adopted=adopt is not None)),
            asyncio.create_task(self._probe()),
        ]

    async def _spawn(self) -> None:
        _logs.rotate(self.log_path, self.max_log_bytes)
        with self.log_path.open("ab") as out:
            out.write(f"--- mcp-adapters: starting {self.config.replica_id} on port {self.config.port}\n".encode())
            out.flush()
            temp = self.work / ".tmp"
            temp.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._process = await asyncio.create_subprocess_exec(
                *self.sandbox.wrap(self.config.argv, self.work),
                env={**self.config.env, "HOME": str(self.work), "TMPDIR": str(temp)},
                cwd=self.work,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() reaches whatever it starts
                close_fds=True,
            )
        self.pid = self._process.pid
        self._running.set()
        started = _procs.start_time(self.pid) or 0
        record = PidFile(self.pid, started, self.config.replica_id, self.config.port, self.config.config_hash)
        self.pid_path.write_text(json.dumps(asdict(record)))

    async def _wait_exit(self) -> int | None:
        code = await self._process.wait() if self._process is not None else None
        pid = self.pid
        while pid is not None and _procs.alive(pid):  # noqa: ASYNC110 - adopted: not our child, nothing to await
            await asyncio.sleep(0.5)
        # Sandboxed, the leader (bwrap) goes at SIGTERM while the bridge drains on: wait for the rest of its group.
        # Only now, once the leader is gone: a group check reads all of /proc, an aliveness check one file.
        while pid is not None and _procs.group_alive(pid):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        return code

    async def _supervise(self, adopted: bool) -> None:
        failures = 0
        while not self._stop.is_set():
            if not adopted:
                self._slot = await self._gate.acquire() if self._gate is not None else None
                # Shielded: a stop that lands between the fork and the pid file would leave a process nobody
                # knows about. `stop` waits for it instead, and then stops what it started.
                self._spawning = asyncio.ensure_future(self._spawn())
                try:
                    await asyncio.shield(self._spawning)
                except BaseException:
                    self._release_slot()
                    raise
            adopted = False
            began = time.monotonic()
            code = await self._wait_exit()
            self._running.clear()
            self._release_slot()
            self._process = None
            self._set_ready(False)
            if self._stop.is_set():
                return
            self.last_exit = code
            self.restarts += 1
            failures = 0 if time.monotonic() - began > 60 else failures + 1
            delay = min(self.backoff.maximum, self.backoff.initial * 2 ** max(0, failures - 1))
            self._note(f"exited with {code if code is not None else 'unknown status'}; restarting in {delay:.1f}s")
            await asyncio.sleep(delay)

    async def _probe(self) -> None:
        while not self._stop.is_set():
            await self._running.wait()  # nothing to ask while it waits for a start slot, or is restarting
            try:
                response = await self.http.get(f"{self.url}/readyz", timeout=2.0)
                ready = response.status_code == 200 and self.pid is not None and _procs.alive(self.pid)
                self.problem = None if ready else _last_error(response)
            except httpx.HTTPError:
                ready = False
            self._set_ready(ready)
            if ready:
                self._release_slot()
            await asyncio.sleep(self.backoff.ready_interval if ready else 0.1)

    def _set_ready(self, ready: bool) -> None:
        if ready != self.ready:
            self.ready = ready
            self._on_change()

    def _release_slot(self) -> None:
        if self._slot is not None:
            self._slot.release()
            self._slot = None

    def _note(self, message: str) -> None:
        logger.info("replica %s %s", self.config.replica_id, message)
        try:
            with self.log_path.open("a", encoding="utf-8") as out:
                out.write(f"--- mcp-adapters: {message}\n")
        except OSError:
            pass

    async def stop(self) -> None:
        """SIGTERM the group, wait out the grace period, then SIGKILL whatever is left."""
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._spawning is not None:
            await asyncio.gather(self._spawning, return_exceptions=True)  # a start under way finishes first
        self._release_slot()
        pid, self.ready = self.pid, False
        if pid is not None and _procs.group_alive(pid):
            _procs.signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.backoff.stop_grace
            if self._process is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._process.wait(), timeout=self.backoff.stop_grace)
            while _procs.group_alive(pid) and time.monotonic() < deadline:  # noqa: ASYNC110 - see _wait_exit
                await asyncio.sleep(0.05)
            if _procs.group_alive(pid):
                _procs.kill_tree(pid)
            if self._process is not None:
                await self._process.wait()
        self.pid_path.unlink(missing_ok=True)
        self._note("stopped")


def _last_error(response: httpx.Response) -> str | None:
    """The bridge's own account of why it is not ready (`lastError` in its `/readyz`), when it gives one."""
    try:
        said = response.json().get("lastError")
    except (ValueError, AttributeError):
        return None
    return str(said)[:300] if said else None
