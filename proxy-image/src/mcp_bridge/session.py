"""Handshake-era sessions: a client's `Mcp-Session-Id` and where its messages go.

`ProcessSession` relays every message unchanged to a server process of its
own (isolation; server-to-client requests work). `PooledSession` serves a
handshake-era client from the shared 2026-07-28 pool: the bridge answers
`initialize` from the server's discover result and adds the envelope to each
request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from mcp_bridge import jsonrpc as rpc
from mcp_bridge import sessionid
from mcp_bridge.child import ChildProcess
from mcp_bridge.errors import ChildGone, Unavailable
from mcp_bridge.exchange import Exchange
from mcp_bridge.jsonrpc import Message, id_key
from mcp_bridge.metrics import Metrics
from mcp_bridge.pool import InFlight, StatelessPool
from mcp_bridge.translate import add_envelope, initialize_from_discover

logger = logging.getLogger("mcp_bridge.session")


class Session:
    """Routing shared by both kinds of session: server messages to the right client stream."""

    def __init__(self, session_id: str, metrics: Metrics) -> None:
        self.id = session_id
        self.metrics = metrics
        # The identity that opened the session (`X-Mcp-UserId`, None when absent): the only one that may use it.
        self.owner: str | None = None
        # The version `initialize` agreed on: it decides whether a JSON-RPC batch is allowed.
        self.protocol_version: str | None = None
        self.waiting: dict[tuple[str, Any], Exchange] = {}
        self.by_progress: dict[tuple[str, Any], Exchange] = {}
        self.standalone: Exchange | None = None
        # Legacy SSE transport: one stream carries everything, responses included.
        self.single_stream: Exchange | None = None
        self.last_active = time.monotonic()
        self.gone = False

    @property
    def tag(self) -> str:
        return sessionid.tag(self.id)

    def belongs_to(self, caller: str | None) -> bool:
        return caller == self.owner

    @property
    def busy(self) -> bool:
        return bool(self.waiting)

    def attach_standalone(self, exchange: Exchange) -> bool:
        if self.standalone is not None and not self.standalone.closed:
            return False
        self.standalone = exchange
        return True

    def track(self, msg: Message, exchange: Exchange) -> None:
        self.last_active = time.monotonic()
        self.waiting[id_key(msg.get("id"))] = exchange
        token = rpc.progress_token(msg)
        if token is not None:
            self.by_progress[id_key(token)] = exchange

    def route(self, msg: Message) -> None:
        """Deliver a message from the server to the client stream it belongs on."""
        self.last_active = time.monotonic()
        if self.single_stream is not None:
            if rpc.is_response(msg):
                self.waiting.pop(id_key(msg.get("id")), None)
            self.single_stream.deliver(msg)
            return
        if rpc.is_response(msg):
            exchange = self.waiting.pop(id_key(msg.get("id")), None)
            self._forget_progress(exchange)
            if exchange is None or not exchange.deliver(msg):
                self.metrics.dropped.labels("client_gone").inc()
            return
        if msg.get("method") == "notifications/progress":
            token = rpc.as_object(msg.get("params")).get("progressToken")
            target = self.by_progress.get(id_key(token))
            if target is not None and target.accepts_events and target.deliver(msg):
                return
        self._deliver_unlinked(msg)

    def _deliver_unlinked(self, msg: Message) -> None:
        # Over stdio nothing says which request a notification or server request belongs to.
        # One open request stream: it is about that request. Otherwise the standing GET stream.
        streams = list({id(ex): ex for ex in self.waiting.values() if ex.accepts_events and not ex.closed}.values())
        if len(streams) == 1 and streams[0].deliver(msg):
            return
        if self.standalone is not None and self.standalone.deliver(msg):
            return
        if streams and streams[-1].deliver(msg):
            return
        self.metrics.dropped.labels("no_stream").inc()

    def _forget_progress(self, exchange: Exchange | None) -> None:
        if exchange is None or not self.by_progress:
            return
        if exchange.closed or not exchange.pending:
            for key in [k for k, ex in self.by_progress.items() if ex is exchange]:
                del self.by_progress[key]

    def fail_waiting(self, code: int, message: str) -> None:
        waiting, self.waiting = self.waiting, {}
        self.by_progress.clear()
        for (_, request_id), exchange in waiting.items():
            exchange.deliver(rpc.error(request_id, code, message))

    def end_streams(self) -> None:
        for stream in (self.standalone, self.single_stream):
            if stream is not None:
                stream.close()

    async def send(self, msg: Message, raw: bytes | None, exchange: Exchange | None) -> None:
        raise NotImplementedError

    async def abandon(self, request_ids: list[Any], reason: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class ProcessSession(Session):
    """A session with a server process of its own; messages pass through unchanged."""

    def __init__(self, session_id: str, metrics: Metrics, child: ChildProcess) -> None:
        super().__init__(session_id, metrics)
        self.child = child

    async def send(self, msg: Message, raw: bytes | None, exchange: Exchange | None) -> None:
        if exchange is not None and rpc.is_request(msg):
            self.track(msg, exchange)
        self.last_active = time.monotonic()
        try:
            await self.child.send(raw if raw is not None else msg)
        except ChildGone as exc:
            raise Unavailable("the MCP server process of this session has exited") from exc

    async def abandon(self, request_ids: list[Any], reason: str) -> None:
        for request_id in request_ids:
            if self.waiting.pop(id_key(request_id), None) is None:
                continue
            note = rpc.notification("notifications/cancelled", {"requestId": request_id, "reason": reason})
            try:
                await self.child.send(note)
            except ChildGone:
                return

    async def close(self) -> None:
        self.gone = True
        self.fail_waiting(rpc.SERVER_UNAVAILABLE, "the session was closed")
        self.end_streams()
        await self.child.stop()


class PooledSession(Session):
    """A handshake-era client served by the shared pool of a server that speaks 2026-07-28."""

    def __init__(self, session_id: str, metrics: Metrics, pool: StatelessPool, initialize: Message) -> None:
        super().__init__(session_id, metrics)
        self.pool = pool
        params = rpc.as_object(initialize.get("params"))
        self.client_info = params.get("clientInfo")
        self.capabilities = params.get("capabilities")
        self.requested_version = params.get("protocolVersion")
        self.in_flight: dict[tuple[str, Any], InFlight] = {}

    def initialize_result(self) -> Message:
        assert self.pool.discover is not None
        return initialize_from_discover(self.pool.discover, self.requested_version)

    async def send(self, msg: Message, raw: bytes | None, exchange: Exchange | None) -> None:
        self.last_active = time.monotonic()
        if not rpc.is_request(msg):
            return  # notifications/initialized and client answers have nowhere to go in 2026-07-28
        assert exchange is not None
        self.track(msg, exchange)
        method = msg.get("method")
        if method == "ping":
            self.route(rpc.result(msg.get("id"), {}))
            return
        if method == "initialize":
            self.route(rpc.error(msg.get("id"), rpc.INVALID_REQUEST, "this session is already initialized"))
            return
        key = id_key(msg.get("id"))
        enveloped = add_envelope(msg, self.client_info, self.capabilities)
        self.in_flight[key] = await self.pool.call(enveloped, self._from_pool)

    def _from_pool(self, msg: Message) -> None:
        if rpc.is_response(msg):
            self.in_flight.pop(id_key(msg.get("id")), None)
            found = msg.get("result")
            if isinstance(found, dict) and found.get("resultType") == "input_required":
                msg = rpc.error(
                    msg.get("id"),
                    rpc.NOT_TRANSLATABLE,
                    "the server asked for more input (a 2026-07-28 input-required result), which the bridge "
                    "cannot relay to a handshake-era client; use a 2026-07-28 client",
                )
        self.route(msg)

    async def abandon(self, request_ids: list[Any], reason: str) -> None:
        for request_id in request_ids:
            self.waiting.pop(id_key(request_id), None)
            if (found := self.in_flight.pop(id_key(request_id), None)) is not None:
                await found.cancel(reason)

    async def close(self) -> None:
        self.gone = True
        await self.abandon([key[1] for key in list(self.in_flight)], "session closed")
        self.fail_waiting(rpc.SERVER_UNAVAILABLE, "the session was closed")
        self.end_streams()
