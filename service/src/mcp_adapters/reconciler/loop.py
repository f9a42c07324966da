"""The reconcile loop: claim due adapters, converge each one (one operation per adapter), record the outcome.

Level-triggered: every pass applies the whole spec (the target makes that a
no-op when nothing changed) and reads the status back, so a missed event, a
crash or a process that died are all repaired the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

from mcp_infra.spec import AdapterSpec

from mcp_adapters import metrics
from mcp_adapters.db.engine import UNAVAILABLE, why_unavailable
from mcp_adapters.db.tables import AdapterRow, OperationRow, utcnow
from mcp_adapters.models import Phase
from mcp_adapters.reconciler.conditions import set_condition
from mcp_adapters.reconciler.queue import Result, Work, WorkQueue
from mcp_adapters.settings import Settings
from mcp_adapters.store import AdapterStore
from mcp_adapters.targets.base import Target, TargetError, UnsupportedSpec

logger = logging.getLogger("mcp_adapters.reconciler")
LOG_FLUSH_SECONDS = 2.0
# After the shutdown grace, interrupted operations get this long to stop cleanly.
INTERRUPT_WAIT_SECONDS = 60.0
# While the database is away: the first retry, and the longest wait between two.
OUTAGE_FIRST_RETRY_SECONDS = 0.5
OUTAGE_MAX_RETRY_SECONDS = 10.0
T = TypeVar("T")


class Outage:
    """Whether the database is away, said once when it goes and once when it is back (not on every retry)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.failures = 0

    def failed(self, error: BaseException) -> float:
        """Note a failure; how long to wait before the next try."""
        reason = why_unavailable(error, detail=True)
        if self.reason is None:
            logger.warning("%s: the reconciler waits and retries; nothing is lost meanwhile", reason)
        self.reason, self.failures = reason, self.failures + 1
        return float(min(OUTAGE_MAX_RETRY_SECONDS, OUTAGE_FIRST_RETRY_SECONDS * 2.0 ** (self.failures - 1)))

    def succeeded(self) -> None:
        if self.reason is not None:
            logger.warning("the database answers again after %d failed tries", self.failures)
        self.reason, self.failures = None, 0

    async def persist(self, call: Callable[..., T], *args: object) -> T:
        """Run a database call in a worker thread, retrying (with backoff) for as long as the database is away:
        an operation's outcome is not dropped because the database blinked as it ended."""
        return await self.retry(lambda: asyncio.to_thread(call, *args))

    async def retry(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await `attempt()` again (with backoff) for as long as it meets the database away."""
        while True:
            try:
                result = await attempt()
            except UNAVAILABLE as exc:
                await asyncio.sleep(self.failed(exc))
                continue
            self.succeeded()
            return result


class OperationLogWriter:
    """Streams an operation's progress into its record (and the service log).

    Targets write from worker threads (the Automation API calls back from the
    threads that read the CLI's output), so lines are buffered under a lock and
    written to the database by `flush`, every few seconds while `streaming`.
    """

    def __init__(self, queue: WorkQueue, operation_id: int | None, adapter: str, outage: Outage | None = None) -> None:
        self.queue, self.operation_id, self.adapter = queue, operation_id, adapter
        self.outage = outage or Outage()
        self._lines: list[str] = []
        self._changes: dict[str, int] | None = None
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        logger.info("%s: %s", self.adapter, line)
        with self._lock:
            self._lines.append(f"{utcnow().isoformat()} {line}\n")

    def record_changes(self, changes: Mapping[str, int]) -> None:
        with self._lock:
            self._changes = dict(changes)

    async def flush(self) -> None:
        with self._lock:
            text, self._lines = "".join(self._lines), []
            changes, self._changes = self._changes, None
        if self.operation_id is None or not (text or changes is not None):
            return
        try:
            await asyncio.to_thread(self.queue.append_log, self.operation_id, text, changes)
        except BaseException:  # not written (the database is away, or we were cancelled first): keep it
            with self._lock:
                self._lines.insert(0, text)
                if self._changes is None:
                    self._changes = changes
            raise

    @contextlib.asynccontextmanager
    async def streaming(self, every: float = LOG_FLUSH_SECONDS) -> AsyncIterator[None]:
        """Flush every `every` seconds while the body runs, and once at the end.

        The periodic flusher is asked to stop, never cancelled: a cancelled write to the database may never
        run (a worker thread skips a call whose caller is gone), and what it carried would be lost.
        """
        stop = asyncio.Event()

        async def keep_flushing() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every)
                try:
                    await self.flush()
                except UNAVAILABLE as exc:  # the lines wait for the next flush
                    self.outage.failed(exc)

        flusher = asyncio.create_task(keep_flushing())
        try:
            yield
        finally:
            stop.set()
            await flusher
            await self.outage.retry(self.flush)  # the last lines wait for the database, if it is away


class Reconciler:
    def __init__(self, settings: Settings, store: AdapterStore, target: Target) -> None:
        self.settings = settings
        self.store = store
        self.target = target
        self.queue = WorkQueue(store.sessions, settings.replica_id, settings.lease_seconds, settings.operation_history)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active: dict[str, asyncio.Task[None]] = {}
        self._changed: set[str] = set()  # adapters the target says changed, not yet made due
        self._outage = Outage()
        self._stopping = False
        target.on_change(self._target_changed)

    def wake(self) -> None:
        """Look for work now (thread-safe: the API calls it from worker threads)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _target_changed(self, name: str) -> None:
        self._changed.add(name)
        self._wake.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._outage.persist(self.queue.release_claims_of_a_previous_run)
        await self._collect_orphans()
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not self._stopping:
                self._wake.clear()  # before the claim: news that arrives during it makes the next pass start at once
                pause = await self._claim_and_start()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=pause)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, *self._active.values(), return_exceptions=True)

    async def stop(self) -> None:
        """Let running operations finish within the grace period, then interrupt them cleanly."""
        self._stopping = True
        self._wake.set()
        running = set(self._active.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=self.settings.shutdown_grace_seconds)
            if pending:
                logger.warning(
                    "%d operation(s) still running after %.0fs: interrupting them",
                    len(pending),
                    self.settings.shutdown_grace_seconds,
                )
                await self.target.interrupt()
                _, pending = await asyncio.wait(pending, timeout=INTERRUPT_WAIT_SECONDS)
                if pending:
                    logger.error("%d operation(s) did not stop; the next start recovers them", len(pending))
        try:
            await asyncio.to_thread(self.queue.release_all)
        except UNAVAILABLE as exc:
            logger.warning(
                "%s: this replica's claims expire on their own within the lease", why_unavailable(exc, detail=True)
            )

    async def _collect_orphans(self) -> None:
        """Stop what runs for adapters that no longer exist (deleted while this service was down)."""
        known = await self._outage.persist(self.queue.names)
        for name in self.target.running() - known:
            logger.info("stopping orphaned adapter %s", name)
            await self.target.delete(name, self._log(None, name))

    def _log(self, operation: OperationRow | None, adapter: str) -> OperationLogWriter:
        return OperationLogWriter(self.queue, operation.id if operation else None, adapter, self._outage)

    async def _claim_and_start(self) -> float:
        """Start what is due; how long to wait before looking again (longer while the database is away)."""
        try:
            if self._changed:
                changed, self._changed = self._changed, set()
                try:
                    await asyncio.to_thread(self.queue.make_due, changed)
                except BaseException:
                    self._changed |= changed  # kept for the next pass
                    raise
            free = self.settings.reconcile_concurrency - len(self._active)
            if free <= 0:
                return self.settings.poll_seconds
            claimed = await asyncio.to_thread(self.queue.claim, free, set(self._active))
        except UNAVAILABLE as exc:
            return max(self.settings.poll_seconds, self._outage.failed(exc))
        self._outage.succeeded()
        for work in claimed:
            task = asyncio.create_task(self._reconcile(work))
            self._active[work.row.name] = task
            task.add_done_callback(functools.partial(self._done, work.row.name))
        return self.settings.poll_seconds

    def _done(self, name: str, _task: asyncio.Task[None]) -> None:
        self._active.pop(name, None)
        self._wake.set()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            try:
                await asyncio.to_thread(self.queue.renew, list(self._active))
            except UNAVAILABLE as exc:
                self._outage.failed(exc)
            except Exception:
                logger.exception("renewing leases failed")

    async def _reconcile(self, work: Work) -> None:
        row = work.row
        try:
            if row.deletion_requested:
                await self._delete(work)
            else:
                result = await self._apply(work)
                await self._outage.persist(self.queue.finish, row, result)
        except Exception:
            logger.exception("reconciling %s failed unexpectedly", row.name)
            await self._outage.persist(self.queue.finish, row, self._retry(row, "InternalError", "see service log"))

    async def _delete(self, work: Work) -> None:
        operation = await self._outage.persist(self.queue.start_operation, work.row, "delete", 1)
        log = self._log(operation, work.row.name)
        with metrics.OPERATION_SECONDS.labels("delete").time():
            async with log.streaming():
                await self.target.delete(work.row.name, log)
        await self._outage.persist(self.queue.remove, work.row, operation.id if operation else None)
        metrics.OPERATIONS.labels("delete", "succeeded").inc()

    async def _apply(self, work: Work) -> Result:
        row, operation = work.row, work.operation
        spec = self.store.opened_spec(row)
        refreshed = row.refresh_requested
        if refreshed:
            await self._refresh(row, spec)
            operation = None  # the refresh is the last operation now: the apply gets its own
        result = await self._apply_spec(row, operation, spec)
        result.refreshed = refreshed
        return result

    async def _refresh(self, row: AdapterRow, spec: AdapterSpec) -> None:
        operation = await self._outage.persist(self.queue.start_operation, row, "refresh", 1)
        log = self._log(operation, row.name)
        outcome, message = "succeeded", "refreshed"
        try:
            async with log.streaming():
                await self.target.refresh(spec, log)
        except Exception as exc:
            outcome, message = "failed", f"refresh failed: {exc}"
            log.write(message)
            await log.flush()
        if operation is not None:
            await self._outage.persist(self.queue.finish_operation, operation.id, outcome, message)

    async def _apply_spec(self, row: AdapterRow, operation: OperationRow | None, spec: AdapterSpec) -> Result:
        if (refused := self._still_refused(row, operation, spec)) is not None:
            metrics.PERMANENT_REFUSALS_RECHECKED.inc()
            return self._unsupported(row, refused)  # no new operation, nothing to stop: it is all as it was
        current = operation is not None and operation.kind == "apply" and operation.generation == row.generation
        needs_operation = not current or (operation is not None and operation.outcome == "failed")
        if needs_operation:
            operation = await self._outage.persist(self.queue.start_operation, row, "apply", row.attempts + 1)
        log = self._log(operation, row.name)
        try:
            async with log.streaming():
                await self.target.apply(spec, log)
        except UnsupportedSpec as exc:
            await self.target.delete(row.name, log)  # nothing half-right keeps running
            log.write(exc.message)
            await log.flush()
            metrics.OPERATIONS.labels("apply", "unsupported").inc()
            return self._unsupported(row, exc)
        except TargetError as exc:
            log.write(f"apply failed: {exc.message}")
            await log.flush()
            metrics.OPERATIONS.labels("apply", "failed").inc()
            return self._retry(row, exc.reason, exc.message)
        except Exception as exc:
            log.write(f"apply failed: {exc}")
            await log.flush()
            metrics.OPERATIONS.labels("apply", "failed").inc()
            return self._retry(row, "ApplyFailed", str(exc))
        status = await self.target.status(row.name)
        return self._observed(row, status.ready, status.desired, status.message)

    def _still_refused(
        self, row: AdapterRow, operation: OperationRow | None, spec: AdapterSpec
    ) -> UnsupportedSpec | None:
        """The target's refusal, when this generation's apply already ended in it and neither the spec nor the
        platform changed since: rerunning it every resync would only add an operation record each time."""
        refused_before = (
            row.phase == Phase.FAILED
            and row.observed_generation == row.generation
            and operation is not None
            and operation.kind == "apply"
            and operation.generation == row.generation
            and operation.outcome == "failed"
        )
        if not refused_before:
            return None
        try:
            self.target.check_supported(spec)
        except UnsupportedSpec as exc:
            return exc
        return None

    def _observed(self, row: AdapterRow, ready: int, desired: int, message: str) -> Result:
        gen = row.generation
        conditions = set_condition(
            row.conditions, "Reconciled", "True", "Applied", "the deployment matches the spec", gen
        )
        if desired and ready >= desired:
            conditions = set_condition(conditions, "Ready", "True", "ReplicasReady", f"{ready}/{desired} ready", gen)
            if row.phase != Phase.READY:
                metrics.OPERATIONS.labels("apply", "succeeded").inc()
            return Result(
                phase=Phase.READY,
                conditions=conditions,
                ready=ready,
                desired=desired,
                next_attempt_at=utcnow() + timedelta(seconds=self.settings.resync_seconds),
                attempts=0,
                observed_generation=gen,
                operation_outcome="succeeded",
                operation_message=f"{ready}/{desired} replicas ready",
            )
        overdue = utcnow() - _not_ready_since(row) > timedelta(seconds=self.target.ready_timeout)
        reason = "ReplicasNotReady" if overdue else "ReplicasStarting"
        conditions = set_condition(conditions, "Ready", "False", reason, message or f"{ready}/{desired} ready", gen)
        phase = Phase.FAILED if overdue else Phase.PROVISIONING
        # Look again soon, without holding a slot (sooner when the target says something changed), and in time to
        # call it Failed when the replicas overrun the ready timeout.
        deadline = _not_ready_since(row) + timedelta(seconds=self.target.ready_timeout)
        later = min(utcnow() + timedelta(seconds=self.target.progress_interval), max(deadline, utcnow()))
        if overdue:
            later = utcnow() + timedelta(seconds=self.settings.resync_seconds)
        return Result(
            phase=phase,
            conditions=conditions,
            ready=ready,
            desired=desired,
            next_attempt_at=later,
            attempts=row.attempts,
            observed_generation=None,
        )

    def _unsupported(self, row: AdapterRow, exc: UnsupportedSpec) -> Result:
        gen = row.generation
        conditions = set_condition(row.conditions, "Reconciled", "False", exc.reason, exc.message, gen)
        conditions = set_condition(conditions, "Ready", "False", exc.reason, exc.message, gen)
        later = utcnow() + timedelta(seconds=self.settings.resync_seconds)
        return Result(
            phase=Phase.FAILED,
            conditions=conditions,
            ready=0,
            desired=row.replicas_desired,
            next_attempt_at=later,
            attempts=row.attempts,
            observed_generation=gen,
            operation_outcome="failed",
            operation_message=exc.message,
        )

    def _retry(self, row: AdapterRow, reason: str, message: str) -> Result:
        attempts = row.attempts + 1
        delay = min(self.settings.retry_max_seconds, self.settings.retry_initial_seconds * 2 ** (attempts - 1))
        text = f"{message} (attempt {attempts}; retrying in {delay:.0f}s)"
        conditions = set_condition(row.conditions, "Reconciled", "False", reason, text, row.generation)
        return Result(
            phase=Phase.FAILED,
            conditions=conditions,
            ready=0,
            desired=row.replicas_desired,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
            attempts=attempts,
            observed_generation=None,
            operation_outcome="failed",
            operation_message=text,
        )


def _not_ready_since(row: AdapterRow) -> datetime:
    """When the Ready condition last turned False (now, if it is not False)."""
    for condition in row.conditions:
        if condition.get("type") == "Ready" and condition.get("status") == "False":
            try:
                return datetime.fromisoformat(condition["lastTransitionTime"])
            except (KeyError, ValueError):
                break
    return utcnow()
