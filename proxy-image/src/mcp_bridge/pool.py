"""Stateless traffic multiplexed over a few server processes, with request-id rewriting.

Each pooled process is shared by many clients, so the bridge renumbers every
request it sends (and its progress token) and maps replies back. A server
that only speaks the handshake era is initialized once by the bridge and
receives 2026-07-28 requests without their envelope.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import anyio
import anyio.abc

from mcp_bridge import jsonrpc as rpc
from mcp_bridge.child import ChildProcess
from mcp_bridge.errors import ChildGone, ChildStartError, Unavailable
from mcp_bridge.jsonrpc import Message
from mcp_bridge.metrics import Metrics
from mcp_bridge.settings import BridgeSettings
from mcp_bridge.translate import (
    as_modern_result,
    discover_from_initialize,
    initialize_request,
    modern_envelope_request,
    strip_envelope,
)

logger = logging.getLogger("mcp_bridge.pool")

Deliver = Callable[[Message], object]
Spawn = Callable[[str], ChildProcess]
Era = Literal["modern", "legacy"]

# A pooled process with this many requests in flight asks for another process (up to the pool size).
_GROW_AT = 4
# A process that lived this long before exiting was not crash-looping; restart it at once.
_HEALTHY_LIFETIME = 30.0


@dataclass
class _Call:
    original_id: Any
    deliver: Deliver
    progress_token: Any
    method: str


class PooledChild:
    """One shared server process and the requests in flight on it."""

    def __init__(self, child: ChildProcess, metrics: Metrics) -> None:
        self.child = child
        self.metrics = metrics
        self.translate_legacy = False
        self.calls: dict[int, _Call] = {}
        self._next_id = 0

    async def call(self, msg: Message, deliver: Deliver) -> int:
        self._next_id += 1
        internal = self._next_id
        token = rpc.progress_token(msg)
        out: Message = {**msg, "id": internal}
        if token is not None:
            params = dict(out["params"])
            params["_meta"] = {**params["_meta"], "progressToken": f"b{internal}"}
            out["params"] = params
        if self.translate_legacy:
            out = strip_envelope(out)
        self.calls[internal] = _Call(msg.get("id"), deliver, token, str(msg.get("method")))
        try:
            await self.child.send(out)
        except ChildGone:
            self.calls.pop(internal, None)
            raise
        return internal

    async def cancel(self, internal: int, reason: str) -> None:
        if self.calls.pop(internal, None) is None:
            return
        note = rpc.notification("notifications/cancelled", {"requestId": internal, "reason": reason})
        with contextlib.suppress(ChildGone):
            await self.child.send(note)

    async def ask(self, msg: Message, wait: float) -> Message:
        """A request of the bridge's own (probe, handshake): wait for its reply."""
        got: list[Message] = []
        done = anyio.Event()

        def keep(reply: Message) -> None:
            if rpc.is_response(reply):
                got.append(reply)
                done.set()

        try:
            internal = await self.call(msg, keep)
        except ChildGone:
            raise Unavailable("the server exited") from None
        with anyio.move_on_after(wait):
            await _first(done, self.child.exited)
        if not got:
            self.calls.pop(internal, None)
            raise Unavailable("the server did not answer" if not self.child.exited.is_set() else "the server exited")
        return got[0]

    async def on_message(self, msg: Message) -> None:
        if rpc.is_response(msg):
            request_id = msg.get("id")
            call = self.calls.pop(request_id, None) if isinstance(request_id, int) else None
            if call is None:
                self.metrics.dropped.labels("late_response").inc()
                return
            reply = {**msg, "id": call.original_id}
            call.deliver(as_modern_result(reply, call.method) if self.translate_legacy else reply)
        elif rpc.is_request(msg):
            # No client of a shared process can answer a server's request (sampling, elicitation, roots).
            await self._refuse_server_request(msg)
        else:
            self._route_notification(msg)

    def fail_all(self, reason: str) -> None:
        calls, self.calls = self.calls, {}
        for call in calls.values():
            call.deliver(rpc.error(call.original_id, rpc.SERVER_UNAVAILABLE, reason))

    def _route_notification(self, msg: Message) -> None:
        params = rpc.as_object(msg.get("params"))
        token = params.get("progressToken")
        if msg.get("method") == "notifications/progress" and isinstance(token, str) and token.startswith("b"):
            call = self.calls.get(int(token[1:])) if token[1:].isdigit() else None
            if call is not None:
                call.deliver({**msg, "params": {**params, "progressToken": call.progress_token}})
                return
        meta = rpc.as_object(params.get("_meta"))
        subscription = meta.get(rpc.SUBSCRIPTION_ID_KEY)
        if isinstance(subscription, int) and (call := self.calls.get(subscription)) is not None:
            call.deliver({**msg, "params": {**params, "_meta": {**meta, rpc.SUBSCRIPTION_ID_KEY: call.original_id}}})
            return
        if len(self.calls) == 1:
            # One request in flight: the notification can only be about it.
            next(iter(self.calls.values())).deliver(msg)
            return
        self.metrics.dropped.labels("unattributable").inc()

    async def _refuse_server_request(self, msg: Message) -> None:
        reply = rpc.error(
            msg.get("id"),
            rpc.NOT_TRANSLATABLE,
            f"{msg.get('method')} cannot reach a client: this server process is shared by stateless "
            "(2026-07-28) clients, which receive no server-to-client requests",
        )
        with contextlib.suppress(ChildGone):
            await self.child.send(reply)


class InFlight(NamedTuple):
    """A request on a pooled process: the process, and the id the request carries there."""

    child: PooledChild
    internal_id: int

    async def cancel(self, reason: str) -> None:
        await self.child.cancel(self.internal_id, reason)


async def _first(*events: anyio.Event) -> None:
    async with anyio.create_task_group() as tg:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            tg.cancel_scope.cancel()

        for event in events:
            tg.start_soon(wait, event)


class StatelessPool:
    """Keeps at least one prepared server process, grows under load, restarts with backoff."""

    def __init__(self, settings: BridgeSettings, spawn: Spawn, metrics: Metrics, tg: anyio.abc.TaskGroup) -> None:
        self.settings = settings
        self.spawn = spawn
        self.metrics = metrics
        self.tg = tg
        self.children: list[PooledChild] = []
        self.era: Era | None = None
        self.discover: Message | None = None
        self.ready = anyio.Event()
        self.last_error: str | None = None
        # Set when a start attempt failed: waiters need not wait for a success that may never come.
        self.failed = anyio.Event()
        self.closing = False
        self._slots = 0
        self._growing = False

    def start(self) -> None:
        self._open_slot(permanent=True)

    async def ensure_ready(self) -> None:
        """Return once the server is ready; fail at once while it is failing to start, or after the start timeout."""
        if self.ready.is_set():
            return
        if self.last_error is not None:
            raise Unavailable(self.last_error)
        with anyio.move_on_after(self.settings.start_timeout):
            await _first(self.ready, self.failed)
        if not self.ready.is_set():
            raise Unavailable(self.last_error or "the MCP server did not become ready in time")

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.failed.set()
        self.failed = anyio.Event()

    async def call(self, msg: Message, deliver: Deliver) -> InFlight:
        await self.ensure_ready()
        if not self.children:
            raise Unavailable(self.last_error or "the MCP server is not running yet")
        child = min(self.children, key=lambda c: len(c.calls))
        if len(child.calls) >= _GROW_AT and self._slots < self.settings.stateless_pool and not self._growing:
            self._open_slot(permanent=False)
        try:
            return InFlight(child, await child.call(msg, deliver))
        except ChildGone as exc:
            raise Unavailable("the MCP server process exited; retry the request") from exc

    async def close(self) -> None:
        self.closing = True
        for pooled in list(self.children):
            pooled.fail_all("the bridge is shutting down")
        async with anyio.create_task_group() as tg:
            for pooled in list(self.children):
                tg.start_soon(pooled.child.stop)

    def _open_slot(self, *, permanent: bool) -> None:
        self._slots += 1
        self._growing = not permanent
        self.tg.start_soon(self._slot, self._slots, permanent)

    async def _slot(self, index: int, permanent: bool) -> None:
        backoff = self.settings.restart_backoff_initial
        try:
            while not self.closing:
                started = time.monotonic()
                await self._run_one(index)
                if self.closing or not permanent:
                    return
                self.metrics.restarts.inc()
                if time.monotonic() - started > _HEALTHY_LIFETIME:
                    backoff = self.settings.restart_backoff_initial
                logger.warning("restarting the shared server process", extra={"delay": backoff, "slot": index})
                await anyio.sleep(backoff)  # crash-loop backoff, not synchronisation
                backoff = min(backoff * 2, self.settings.restart_backoff_max)
        finally:
            self._slots -= 1

    async def _run_one(self, index: int) -> None:
        child = self.spawn(f"pool-{index}")
        try:
            await child.start()
        except ChildStartError as exc:
            self._fail(str(exc))
            logger.error("cannot start the MCP server", extra={"error": str(exc)})
            return
        pooled = PooledChild(child, self.metrics)
        self.metrics.children.labels("pool").inc()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(child.run, pooled.on_message)
                try:
                    await self._prepare(pooled)
                except Unavailable as exc:
                    self._fail(f"the MCP server did not start: {exc} (see the bridge log for its stderr)")
                    logger.error("the MCP server did not answer its first request", extra={"error": str(exc)})
                    await child.stop()
                    return
                self.children.append(pooled)
                self._growing = False
                self.last_error = None
                self.ready.set()
                await child.exited.wait()
        finally:
            self.metrics.children.labels("pool").dec()
            if pooled in self.children:
                self.children.remove(pooled)
            if not self.children:
                self.ready = anyio.Event()
            code = child.returncode
            pooled.fail_all(f"the MCP server process exited (code {code}) before answering")

    async def _prepare(self, pooled: PooledChild) -> None:
        """Learn (once) which era the server speaks, and put this process in that era."""
        timeout = self.settings.start_timeout
        if self.era in (None, "modern"):
            reply = await pooled.ask(modern_envelope_request("probe", "server/discover"), timeout)
            found = rpc.as_object(reply.get("result"))
            versions = found.get("supportedVersions")
            if isinstance(versions, list) and any(v in rpc.MODERN_VERSIONS for v in versions):
                self.era, self.discover = "modern", found
                return
            if self.era == "modern":
                raise Unavailable(f"server/discover failed: {reply.get('error')}")
        reply = await pooled.ask(initialize_request("handshake"), timeout)
        initialized = reply.get("result")
        if not isinstance(initialized, dict):
            raise Unavailable(f"initialize failed: {reply.get('error')}")
        await pooled.child.send(rpc.notification("notifications/initialized"))
        pooled.translate_legacy = True
        self.era, self.discover = "legacy", discover_from_initialize(initialized)
