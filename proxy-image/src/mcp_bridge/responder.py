"""The answer to one POST of streamable HTTP: JSON when possible, SSE when the server speaks first.

Most requests are answered within milliseconds. Watching the client for a
disconnect needs a task of its own (ASGI reports it only through `receive`),
and a task group per request was a visible share of the bridge's CPU, so a
request first waits a short window for its answer with no watcher and no
timeout scope; only one that outlives the window gets the watcher, the
request timeout and SSE keep-alive pings. A client that leaves during the
window is noticed when the window ends.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.types import Receive, Send

from mcp_bridge import jsonrpc as rpc
from mcp_bridge._http import PING, SSE_HEADERS, send_json, sse_event, wait_disconnect
from mcp_bridge.exchange import Exchange
from mcp_bridge.jsonrpc import Message
from mcp_bridge.metrics import Metrics

PING_INTERVAL = 15.0
# How long a request may take before the bridge starts watching its client.
WATCH_AFTER = 0.25
Abandon = Callable[[list[Any], str], Awaitable[None]]


class Responder:
    def __init__(
        self, metrics: Metrics, timeout: float, exchange: Exchange, abandon: Abandon, era: str, method: str
    ) -> None:
        self.metrics = metrics
        self.timeout = timeout
        self.exchange = exchange
        self.abandon = abandon
        self.era = era
        self.method = method
        self.sse_started = False
        self.finished = False
        self.started = time.perf_counter()
        self.recorded = False

    def record(self, outcome: str) -> None:
        """Count the request once, before its last byte leaves (so a client that reads metrics next sees it)."""
        if not self.recorded:
            self.recorded = True
            self.metrics.request(self.method, self.era, outcome, self.started)

    async def respond(
        self, receive: Receive, send: Send, *, json_ok: bool, sse_ok: bool, batch: bool, modern: bool
    ) -> None:
        outcome = "ok"
        try:
            with anyio.fail_after(self.timeout):
                first = await self._early_message()
                if first is not None and not self.exchange.pending:
                    # Answered already: the rest is buffered, so nothing more waits on the server or the client.
                    outcome = await self._write(send, first, json_ok=json_ok, sse_ok=sse_ok, batch=batch, modern=modern)
                else:
                    async with anyio.create_task_group() as tg:

                        async def watch() -> None:
                            await wait_disconnect(receive)
                            nonlocal outcome
                            outcome = "client_gone"
                            tg.cancel_scope.cancel()

                        tg.start_soon(watch)
                        outcome = await self._write(
                            send, first, json_ok=json_ok, sse_ok=sse_ok, batch=batch, modern=modern
                        )
                        tg.cancel_scope.cancel()
        except TimeoutError:
            outcome = "timeout"
            await self._time_out(send, f"the request timed out after {self.timeout:g}s (MCP_BRIDGE_REQUEST_TIMEOUT)")
        except OSError:
            outcome = "client_gone"
        finally:
            if self.exchange.pending:
                ids = [key[1] for key in self.exchange.pending]
                with anyio.CancelScope(shield=True):
                    await self.abandon(ids, "the client went away" if outcome == "client_gone" else "timed out")
            self.exchange.close()
            self.record(outcome)

    async def _early_message(self) -> Message | None:
        """The first message for the client, if it comes within the window."""
        with anyio.move_on_after(WATCH_AFTER):
            try:
                return await self.exchange.receive.receive()
            except anyio.EndOfStream:
                return None
        return None

    async def _next(self, first: Message | None) -> Message | None:
        """`first` if the window already brought it, else the next message within a ping interval."""
        if first is not None:
            return first
        with anyio.move_on_after(PING_INTERVAL):
            return await self.exchange.receive.receive()
        return None

    async def _write(
        self, send: Send, first: Message | None, *, json_ok: bool, sse_ok: bool, batch: bool, modern: bool
    ) -> str:
        receive = self.exchange.receive
        if json_ok and (batch or not sse_ok):
            replies = [first] if first is not None and rpc.is_response(first) else []
            replies += [m async for m in receive if rpc.is_response(m)]
            body: Any = (
                replies if batch else (replies[0] if replies else rpc.error(None, rpc.INTERNAL_ERROR, "no reply"))
            )
            self.record(_outcome(replies))
            await send_json(send, 200, body)
            self.finished = True
            return _outcome(replies)
        try:
            pending = await self._next(first)
        except anyio.EndOfStream:
            return "error"
        if pending is not None and json_ok and rpc.is_response(pending) and not self.exchange.pending:
            error = pending.get("error")
            status = rpc.ERROR_HTTP_STATUS.get(error.get("code"), 200) if modern and error is not None else 200
            self.record(_outcome([pending]))
            await send_json(send, status, rpc.dumps(pending))
            self.finished = True
            return _outcome([pending])
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        self.sse_started = True
        outcome = "ok"
        while True:
            if pending is not None:
                if rpc.is_response(pending) and "error" in pending:
                    outcome = "error"
                if rpc.is_response(pending) and not self.exchange.pending:
                    self.record(outcome)
                await send({"type": "http.response.body", "body": sse_event(pending), "more_body": True})
            try:
                pending = await self._next(None)
            except anyio.EndOfStream:
                break
            if pending is None:
                await send({"type": "http.response.body", "body": PING, "more_body": True})
        self.record(outcome)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self.finished = True
        return outcome

    async def _time_out(self, send: Send, message: str) -> None:
        errors = [rpc.error(key[1], rpc.REQUEST_TIMEOUT, message) for key in self.exchange.pending]
        if self.finished:
            return
        try:
            if self.sse_started:
                for err in errors:
                    await send({"type": "http.response.body", "body": sse_event(err), "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send_json(send, 200, errors[0] if len(errors) == 1 else errors)
        except OSError:
            pass


def _outcome(replies: list[Message]) -> str:
    return "error" if any("error" in r for r in replies) else "ok"
