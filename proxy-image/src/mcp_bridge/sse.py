"""The legacy HTTP+SSE transport (2024-11-05): `GET /sse` opens the stream, `POST /messages` sends."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from mcp_bridge import jsonrpc as rpc
from mcp_bridge._http import SSE_HEADERS, caller, send_empty, send_error
from mcp_bridge.bridge import Bridge
from mcp_bridge.errors import ClientError, InvalidRequest, NoSession, Unavailable
from mcp_bridge.exchange import Exchange
from mcp_bridge.jsonrpc import Message
from mcp_bridge.peers import PeerForwarder
from mcp_bridge.session import Session
from mcp_bridge.sessionid import new_session_id, owner_of
from mcp_bridge.streamable_http import pump_stream, read_messages, refuse_unsupported_batch

logger = logging.getLogger("mcp_bridge.sse")


@dataclass
class _Stream:
    exchange: Exchange
    # The identity that opened the stream (`X-Mcp-UserId`): only it may post to the stream's session.
    owner: str | None
    session: Session | None = None
    opening: bool = False


class LegacySSE:
    def __init__(self, bridge: Bridge, peers: PeerForwarder) -> None:
        self.bridge = bridge
        self.peers = peers
        self.streams: dict[str, _Stream] = {}

    async def stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.bridge.draining:
            await send_error(send, Unavailable("the bridge is shutting down", retry_after=1))
            return
        stream_id = new_session_id(self.bridge.settings.replica_id)
        entry = _Stream(Exchange(None), owner=caller(scope))
        self.streams[stream_id] = entry
        endpoint = f"{scope.get('root_path', '')}/messages?session_id={stream_id}"
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        try:
            await pump_stream(entry.exchange, receive, send, first=f"event: endpoint\ndata: {endpoint}\n\n".encode())
        finally:
            self.streams.pop(stream_id, None)
            if entry.session is not None:
                await self.bridge.end_session(entry.session.id)

    async def messages(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        stream_id = (query.get("session_id") or [""])[0]
        owner = owner_of(stream_id)
        if owner is not None and owner != self.bridge.settings.replica_id:
            await self.peers.forward(owner, scope, receive, send)
            return
        entry = self.streams.get(stream_id)
        try:
            if entry is None or entry.owner != caller(scope):  # another identity's stream looks like no stream
                raise NoSession("Session not found: open a new stream at /sse")
            messages, batch, body = await read_messages(scope, receive, self.bridge.settings.max_body_bytes)
            if batch and entry.session is not None:
                refuse_unsupported_batch(entry.session)
            for msg in messages:
                await self._accept(entry, msg, None if batch else body)
        except ClientError as exc:
            await send_error(send, exc)
            return
        await send_empty(send, 202)

    async def _accept(self, entry: _Stream, msg: Message, raw: bytes | None) -> None:
        if rpc.is_request(msg) and msg["method"] == "initialize":
            if entry.session is not None or entry.opening:
                raise InvalidRequest("this stream's session is already initialized")
            entry.opening = True
            self.bridge.background(self._open, entry, msg)
            return
        if entry.session is None:
            raise InvalidRequest("send initialize first")
        try:
            await entry.session.send(msg, raw, entry.exchange if rpc.is_request(msg) else None)
        except Unavailable:
            raise NoSession("Session not found: its server process has exited") from None

    async def _open(self, entry: _Stream, msg: Message) -> None:
        try:
            session, reply = await self.bridge.open_session(msg, owner=entry.owner, single_stream=entry.exchange)
        except Unavailable as exc:
            entry.exchange.deliver(exc.reply(msg.get("id")))
            entry.opening = False
            return
        if not session.gone:
            entry.session = session
        entry.opening = False
        entry.exchange.deliver(reply)
        if entry.exchange.closed and not session.gone:
            await self.bridge.end_session(session.id)
