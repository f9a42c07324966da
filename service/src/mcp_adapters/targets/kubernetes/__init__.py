"""The `kubernetes` target: each adapter is a Pulumi stack whose inline program is infra's `McpAdapter`.

`apply` runs `pulumi up` when the adapter's inputs changed (or hourly, to repair
drift), `delete` runs `pulumi destroy` and removes the stack, `refresh` and
`preview` run theirs. Readiness and logs come from the Kubernetes API: an
adapter is Ready when its StatefulSet's replicas are. Operations on one adapter
run one at a time; on different adapters, up to `PULUMI_PARALLEL_OPERATIONS`
at once; each has a timeout after which its CLI is interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from mcp_infra.names import AdapterNames
from mcp_infra.spec import AdapterSpec

from mcp_adapters import keyfile
from mcp_adapters.errors import Unavailable
from mcp_adapters.platform import platform_settings
from mcp_adapters.settings import PULUMI_INTERRUPT_GRACE_SECONDS, Settings
from mcp_adapters.targets.base import Endpoint, OperationLog, TargetError, TargetPreview, TargetStatus
from mcp_adapters.targets.kubernetes._cluster import Cluster
from mcp_adapters.targets.kubernetes._program import adapter_program
from mcp_adapters.targets.kubernetes._stacks import Stacks, no_program

logger = logging.getLogger("mcp_adapters.kubernetes")
T = TypeVar("T")
APPLIED = "applied.json"
# While the CLI is missing, `/readyz` looks for it again this often (it may be installed without a restart).
CLI_LOOKUP_INTERVAL = 30.0
# A new render or provider version is a reason for an `up` even when the adapter did not change.
VERSIONED = ("mcp-adapters-infra", "pulumi-kubernetes", "pulumi-azure-native")


class LineLog:
    """An operation log for work that has no operation record (previews): lines kept in memory."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def record_changes(self, changes: Any) -> None:
        pass


class KubernetesTarget:
    name = "kubernetes"
    progress_interval = 2.0

    def __init__(self, settings: Settings, *, stacks: Stacks | None = None, cluster: Cluster | None = None) -> None:
        self.settings = settings
        self.ready_timeout = settings.kube_ready_timeout
        self.platform = platform_settings(settings)
        self.stacks = stacks or Stacks(settings)
        self.cluster = cluster or Cluster(settings.kubeconfig, settings.kube_context)
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(settings.pulumi_parallel_operations)
        self._active: set[str] = set()
        self._endpoints: dict[str, list[Endpoint]] = {}
        self._looked_for_cli = time.monotonic()
        self._lookup: asyncio.Future[str | None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.settings.database_url and self.settings.pulumi_backend_url is None:
            logger.warning(
                "adapters are in a shared database but their stacks in a file:// backend under %s: every service "
                "replica, and a restart without that directory, would see other stacks. Set "
                "MCP_ADAPTERS_PULUMI_BACKEND_URL (azblob://, s3://, gs:// or Pulumi Cloud)",
                self.settings.state_dir,
            )
        await asyncio.to_thread(self.stacks.write_policy_config, self.platform)
        problem = await asyncio.to_thread(self.stacks.connect)
        if problem is not None:
            logger.error("kubernetes target: %s", problem)
            return
        if self.settings.pulumi_install_plugins or self.settings.pulumi_plugins_dir is not None:
            try:
                ready = await asyncio.to_thread(self.stacks.install_plugins)
                logger.info("provider plugins ready: %s", ", ".join(ready) or "none")
            except Exception as exc:  # the engine installs what is missing on first use; say why it may be slow
                logger.warning("installing provider plugins failed (the engine retries on first use): %s", exc)
        left = [d.name for d in self._work_dirs() if self.stacks.unfinished(d.name) is not None]
        if left:
            logger.warning(
                "%d stack(s) have an operation a previous run did not finish (%s): each is recovered "
                "(cancel, then refresh) before its next operation",
                len(left),
                ", ".join(sorted(left)),
            )

    async def close(self) -> None:
        await self.cluster.close()

    def on_change(self, notify: Callable[[str], None]) -> None:
        """Pods are not watched: the reconciler looks again every `progress_interval` while they start."""

    def problem(self) -> str | None:
        """What keeps the target from working; a missing CLI is looked for again (in the background)."""
        due = time.monotonic() - self._looked_for_cli >= CLI_LOOKUP_INTERVAL
        if self.stacks.problem is not None and due and (self._lookup is None or self._lookup.done()):
            with contextlib.suppress(RuntimeError):  # called outside the event loop: the next probe looks
                self._lookup = asyncio.get_running_loop().create_task(asyncio.to_thread(self.stacks.connect))
                self._looked_for_cli = time.monotonic()
        return self.stacks.problem

    async def interrupt(self) -> None:
        self.stacks.stopping.set()
        for adapter in sorted(self._active):
            sent = self.stacks.interrupt(adapter)
            logger.warning("interrupting the operation on %s (%d CLI process(es) signalled)", adapter, sent)

    def running(self) -> set[str]:
        # Stacks the database does not know are left alone: a lost or wrong database must never
        # destroy what runs in production. `pulumi stack ls` in the backend shows them.
        return set()

    # -- operations -------------------------------------------------------------------------------

    def check_supported(self, spec: AdapterSpec) -> None:
        """Every spec the API admits can be deployed: what the platform refuses, its policies and errors say."""

    async def apply(self, spec: AdapterSpec, log: OperationLog) -> None:
        fingerprint = self._fingerprint(spec)
        if not self._due(spec.name, fingerprint):
            return
        program = adapter_program(spec, self.platform)

        def up() -> None:
            # Until this `up` succeeds, nothing counts as applied: a failure or a revert to the last
            # good spec must run `up` again.
            (self.stacks.work_dir(spec.name) / APPLIED).unlink(missing_ok=True)
            stack = self.stacks.open(spec.name, program)
            self.stacks.up(stack, spec.name, log)
            marker = {"fingerprint": fingerprint, "at": time.time()}
            (self.stacks.work_dir(spec.name) / APPLIED).write_text(json.dumps(marker))

        async with self._operation(spec.name):
            await self._bounded(spec.name, "up", log, up)

    async def delete(self, name: str, log: OperationLog) -> None:
        def destroy() -> None:
            stack = self.stacks.existing(name, no_program)
            if stack is None:
                log.write(f"stack {self.stacks.stack_name(name)} does not exist: nothing to destroy")
            else:
                self.stacks.destroy(stack, name, log)
                self.stacks.remove(stack, name)
                log.write(f"stack {stack.name} removed")

        async with self._operation(name):
            await self._bounded(name, "destroy", log, destroy)
        self._endpoints.pop(name, None)

    async def refresh(self, spec: AdapterSpec, log: OperationLog) -> None:
        program = adapter_program(spec, self.platform)

        def refresh() -> None:
            stack = self.stacks.open(spec.name, program)
            self.stacks.refresh(stack, spec.name, log)
            # What the refresh found (drift) is repaired by the next apply's `up`.
            (self.stacks.work_dir(spec.name) / APPLIED).unlink(missing_ok=True)

        async with self._operation(spec.name):
            await self._bounded(spec.name, "refresh", log, refresh)

    async def preview(self, spec: AdapterSpec) -> TargetPreview:
        program = adapter_program(spec, self.platform)
        log = LineLog()

        def preview() -> TargetPreview:
            stack = self.stacks.existing(spec.name, program)
            if stack is not None:
                progress = self.stacks.preview(stack, log)
            else:
                try:
                    progress = self.stacks.preview(self.stacks.open(spec.name, program), log)
                finally:  # a preview of a new adapter leaves no stack behind, even when it failed half way
                    self.stacks.discard(spec.name)
            return TargetPreview(progress.steps, progress.changes, progress.findings)

        async with self._operation(spec.name):
            return await self._bounded(spec.name, "preview", log, preview)

    # -- what runs --------------------------------------------------------------------------------

    def _names(self, adapter: str) -> AdapterNames:
        return AdapterNames.of(adapter, self.platform.azure.identity_name_prefix)

    async def status(self, name: str) -> TargetStatus:
        names, namespace = self._names(name), self.platform.namespace
        try:
            rollout = await self.cluster.rollout(namespace, names.statefulset)
        except TargetError as exc:
            return TargetStatus(desired=0, ready=0, message=exc.message, endpoints=tuple(self.endpoints(name)))
        base = f"{names.headless_service}.{namespace}.svc.cluster.local:{self.platform.port}"
        endpoints = [Endpoint(pod.name, f"http://{pod.name}.{base}", pod.ready) for pod in rollout.pods]
        self._endpoints[name] = endpoints
        return TargetStatus(rollout.desired, rollout.ready, rollout.message, tuple(endpoints))

    def endpoints(self, name: str) -> list[Endpoint]:
        """The pods as last seen (each `status` reads them); reachable when the service runs in the cluster."""
        return list(self._endpoints.get(name, []))

    def _pod(self, name: str, instance: int) -> str:
        return f"{self._names(name).statefulset}-{instance}"

    async def logs(self, name: str, instance: int, tail: int) -> list[str]:
        try:
            return await self.cluster.logs(self.platform.namespace, self._pod(name, instance), tail)
        except TargetError as exc:
            raise Unavailable(exc.message, headers={"Retry-After": "5"}) from exc

    async def follow(self, name: str, instance: int, tail: int) -> AsyncIterator[str]:
        try:
            async for line in self.cluster.follow(self.platform.namespace, self._pod(name, instance), tail):
                yield line
        except TargetError as exc:
            yield f"[mcp-adapters] {exc.message}\n"

    # -- machinery --------------------------------------------------------------------------------

    def _work_dirs(self) -> list[Path]:
        if not self.stacks.workspaces.is_dir():
            return []
        return [d for d in self.stacks.workspaces.iterdir() if d.is_dir() and not d.name.startswith("_")]

    def _fingerprint(self, spec: AdapterSpec) -> str:
        """Everything an `up` depends on; keyed, because the spec holds secret values."""
        inputs = {
            "spec": spec.to_json(),
            "platform": self.platform.model_dump(mode="json"),
            "config": {k: v.value for k, v in self.stacks.stack_config().items()},
            "stack": [self.settings.resolved_pulumi_backend_url, self.settings.pulumi_project],
            "versions": [metadata.version(p) for p in VERSIONED],
        }
        text = json.dumps(inputs, sort_keys=True, default=str).encode()
        return hashlib.blake2b(text, key=self._fingerprint_key(), digest_size=32).hexdigest()

    def _fingerprint_key(self) -> bytes:
        return keyfile.read_or_create(self.stacks.root / "fingerprint.key", lambda: os.urandom(32))

    def _due(self, adapter: str, fingerprint: str) -> bool:
        """An `up` is due when the inputs changed, an operation was left unfinished, or drift repair is due."""
        if self.stacks.unfinished(adapter) is not None:
            return True
        try:
            marker = json.loads((self.stacks.work_dir(adapter) / APPLIED).read_text())
        except (OSError, ValueError):
            return True
        fresh = time.time() - float(marker.get("at", 0)) < self.settings.pulumi_reapply_seconds
        return not (marker.get("fingerprint") == fingerprint and fresh)

    def _lock(self, adapter: str) -> asyncio.Lock:
        return self._locks.setdefault(adapter, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def _operation(self, adapter: str) -> AsyncIterator[None]:
        """One operation per adapter, a bounded number at once, and only with a usable CLI."""
        problem = await asyncio.to_thread(self.stacks.connect)
        if problem is not None:
            raise TargetError(problem, reason="PulumiCliMissing")
        async with self._lock(adapter), self._slots:
            if self.stacks.stopping.is_set():  # it waited for its turn while the service began to stop
                raise TargetError(
                    "the service is shutting down: the operation runs after it restarts", reason="ShuttingDown"
                )
            self.stacks.resume(adapter)
            self._active.add(adapter)
            try:
                yield
            finally:
                self._active.discard(adapter)

    async def _bounded(self, adapter: str, verb: str, log: OperationLog, work: Callable[[], T]) -> T:
        """Run blocking `work` in a thread; past the timeout, interrupt its CLI (SIGINT, then SIGKILL)."""
        task: asyncio.Future[T] = asyncio.ensure_future(asyncio.to_thread(work))
        timeout = self.settings.pulumi_operation_timeout
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except asyncio.CancelledError:
            # Cancelled from outside (the service stopping): the CLI must not outlive the adapter's lock.
            log.write(f"{verb} cancelled: interrupting the Pulumi CLI")
            await asyncio.shield(self._stop(adapter, verb, log, task))
            raise
        if task in done:
            return task.result()
        log.write(f"{verb} still running after {timeout:.0f}s: interrupting the Pulumi CLI")
        await self._stop(adapter, verb, log, task)
        raise TargetError(
            f"pulumi {verb} timed out after {timeout:.0f}s and was interrupted; it is retried, and the stack is "
            "recovered (cancel, refresh) first if the interruption left it locked",
            reason="Timeout",
        )

    async def _stop(self, adapter: str, verb: str, log: OperationLog, task: asyncio.Future[Any]) -> None:
        """SIGINT to the operation's CLI, SIGKILL if it has not stopped after the grace; returns once it ended."""
        self.stacks.interrupt(adapter, signal.SIGINT)
        done, _ = await asyncio.wait({task}, timeout=PULUMI_INTERRUPT_GRACE_SECONDS)
        if task not in done:
            log.write(f"{verb} did not stop within {PULUMI_INTERRUPT_GRACE_SECONDS:.0f}s of SIGINT: killing the CLI")
            self.stacks.interrupt(adapter, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await task
