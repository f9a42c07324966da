"""Streamable HTTP at `/mcp`: both protocol eras, chosen per request.

A request that carries `Mcp-Session-Id` (or is an `initialize`) belongs to a
handshake-era session; one that carries the 2026-07-28 envelope is stateless
and goes to the shared pool. Responses are plain JSON when the answer comes
before anything else, and SSE when the server has more to say first.
"""

from __future__ import annotations

import logging
import time
from types import ModuleType
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send

from mcp_bridge import jsonrpc as rpc
from mcp_bridge._http import (
    PING,
    SSE_HEADERS,
    accepts,
    caller,
    header,
    read_body,
    send_empty,
    send_error,
    send_json,
    sse_event,
    wait_disconnect,
)
from mcp_bridge.bridge import Bridge
from mcp_bridge.errors import (
    ClientError,
    ClientGone,
    Conflict,
    InvalidRequest,
    MethodNotAllowed,
    MethodNotFound,
    NoSession,
    NotAcceptable,
    ParseError,
    Unavailable,
    UnsupportedMediaType,
)
from mcp_bridge.exchange import Exchange
from mcp_bridge.jsonrpc import Message
from mcp_bridge.peers import PeerForwarder
from mcp_bridge.responder import PING_INTERVAL, Responder
from mcp_bridge.session import Session
from mcp_bridge.sessionid import owner_of

logger = logging.getLogger("mcp_bridge.http")

# Unknown, closed, and another identity's session all get this same answer: a session's existence does not leak.
_NO_SESSION = "Session not found: start a new session with initialize"


def parse_messages(body: bytes) -> tuple[list[Message], bool]:
    try:
        messages, batch = rpc.load_body(body)
    except ValueError:
        raise ParseError("Parse error: the body is not valid JSON") from None
    if not messages or not all(rpc.is_message(m) for m in messages):
        raise InvalidRequest("Invalid Request: the body must be a JSON-RPC 2.0 message")
    return messages, batch


async def read_messages(scope: Scope, receive: Receive, limit: int) -> tuple[list[Message], bool, bytes]:
    content_type = (header(scope, b"content-type") or "application/json").lower()
    if "json" not in content_type:
        raise UnsupportedMediaType("Unsupported Media Type: send Content-Type: application/json")
    body = await read_body(receive, limit)
    messages, batch = parse_messages(body)
    return messages, batch, body


class StreamableHTTP:
    def __init__(self, bridge: Bridge, peers: PeerForwarder) -> None:
        self.bridge = bridge
        self.settings = bridge.settings
        self.peers = peers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = header(scope, b"mcp-session-id")
        if session_id is not None:
            owner = owner_of(session_id)
            if owner is not None and owner != self.settings.replica_id:
                await self.peers.forward(owner, scope, receive, send)
                return
        try:
            if scope["method"] == "POST":
                await self._post(scope, receive, send, session_id)
            elif scope["method"] == "GET":
                await self._get(scope, receive, send, session_id)
            elif scope["method"] == "DELETE":
                await self._delete(scope, send, session_id)
            else:
                raise MethodNotAllowed("Method Not Allowed", allow="GET, POST, DELETE")
        except ClientError as exc:
            await send_error(send, exc)
        except ClientGone:
            return

    # ---- POST ----------------------------------------------------------------------------------

    async def _post(self, scope: Scope, receive: Receive, send: Send, session_id: str | None) -> None:
        json_ok, sse_ok = accepts(scope)
        if not (json_ok or sse_ok):
            raise NotAcceptable("Not Acceptable: accept application/json or text/event-stream")
        messages, batch, body = await read_messages(scope, receive, self.settings.max_body_bytes)
        requests = [m for m in messages if rpc.is_request(m)]
        modern_header = header(scope, b"mcp-protocol-version") in rpc.MODERN_VERSIONS
        if modern_header and any(m["method"] == "initialize" for m in requests):
            raise MethodNotFound(
                "initialize does not exist in 2026-07-28: send each request with its per-request envelope"
            )
        if any(m["method"] == "initialize" for m in requests):
            if session_id is not None or len(messages) > 1:
                raise InvalidRequest("initialize must be sent alone and without Mcp-Session-Id")
            await self._initialize(messages[0], scope, receive, send, json_ok)
            return
        if session_id is not None:
            session = self.bridge.get_session(session_id, caller=caller(scope))
            if session is None:
                raise NoSession(_NO_SESSION)
            if batch:
                refuse_unsupported_batch(session)
            raw = None if batch else body  # a batch goes to the server one message at a time
            await self._session_post(session, messages, raw, batch, (json_ok, sse_ok), scope, receive, send)
            return
        version_header = header(scope, b"mcp-protocol-version")
        if version_header in rpc.MODERN_VERSIONS or any(rpc.envelope_version(m) for m in requests):
            await self._stateless(messages, (json_ok, sse_ok), scope, receive, send)
            return
        if not requests and version_header is None:
            raise InvalidRequest("Bad Request: Mcp-Session-Id header is required")
        raise InvalidRequest(
            "Bad Request: Mcp-Session-Id header is required (send initialize to start a session, "
            "or use the 2026-07-28 per-request envelope)",
        )

    async def _initialize(self, msg: Message, scope: Scope, receive: Receive, send: Send, json_ok: bool) -> None:
        started = time.perf_counter()
        try:
            session, reply = await self.bridge.open_session(msg, owner=caller(scope))
        except Unavailable:
            self.bridge.metrics.request("initialize", "handshake", "unavailable")
            raise
        headers = [] if session.gone else [(b"mcp-session-id", session.id.encode())]
        outcome = "error" if "error" in reply else "ok"
        self.bridge.metrics.request("initialize", "handshake", outcome, started)
        if json_ok:
            await send_json(send, 200, rpc.dumps(reply), headers)
        else:
            await send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *headers]})
            await send({"type": "http.response.body", "body": sse_event(reply)})

    async def _session_post(
        self,
        session: Session,
        messages: list[Message],
        raw: bytes | None,
        batch: bool,
        acceptable: tuple[bool, bool],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        json_ok, sse_ok = acceptable
        requests = [m for m in messages if rpc.is_request(m)]
        exchange = Exchange([r["id"] for r in requests], accepts_events=sse_ok) if requests else None
        try:
            for msg in messages:
                await session.send(msg, raw, exchange)
        except Unavailable:
            raise NoSession("Session not found: its server process has exited") from None
        if exchange is None:
            await send_empty(send, 202)
            return
        responder = Responder(
            self.bridge.metrics,
            self.settings.request_timeout,
            exchange,
            session.abandon,
            "handshake",
            str(requests[0]["method"]),
        )
        await responder.respond(receive, send, json_ok=json_ok, sse_ok=sse_ok, batch=batch, modern=False)

    async def _stateless(
        self, messages: list[Message], acceptable: tuple[bool, bool], scope: Scope, receive: Receive, send: Send
    ) -> None:
        json_ok, sse_ok = acceptable
        if len(messages) != 1:
            raise InvalidRequest("2026-07-28 requests are sent one per POST, not in a batch")
        msg = messages[0]
        if not rpc.is_request(msg):
            await send_empty(send, 202)  # no client-to-server notifications exist in 2026-07-28; accept and drop
            return
        # RFC 9110 5.5: a field value is compared without the whitespace around it (the SDK's ladder does not trim).
        pairs = [(k.decode("latin-1"), v.decode("latin-1").strip(" \t")) for k, v in scope["headers"]]
        rejection = _envelope_rejection(msg, pairs)
        if rejection is None and msg["method"] == "tools/call":
            rejection = await self._param_header_rejection(msg, dict(pairs))
        if rejection is not None:
            await send_json(send, rpc.ERROR_HTTP_STATUS.get(rejection["error"]["code"], 400), rejection)
            return
        exchange = Exchange([msg["id"]], accepts_events=sse_ok)
        try:
            in_flight = await self.bridge.stateless(msg, exchange.deliver)
        except Unavailable:
            self.bridge.metrics.request(str(msg["method"]), "stateless", "unavailable")
            raise

        async def abandon(ids: list[Any], reason: str) -> None:
            if in_flight is not None:
                await in_flight.cancel(reason)

        responder = Responder(
            self.bridge.metrics, self.settings.request_timeout, exchange, abandon, "stateless", str(msg["method"])
        )
        await responder.respond(receive, send, json_ok=json_ok, sse_ok=sse_ok, batch=False, modern=True)

    async def _param_header_rejection(self, msg: Message, headers: dict[str, str]) -> Message | None:
        """`Mcp-Param-*` headers checked against the tool's `x-mcp-header` arguments, as an SDK server would."""
        params = rpc.as_object(msg.get("params"))
        arguments = rpc.as_object(params.get("arguments"))
        if not arguments and not any(k.startswith("mcp-param-") for k in headers):
            return None
        name = params.get("name")
        try:
            schema = await self.bridge.tool_schema(name) if isinstance(name, str) else None
        except Unavailable:
            return None  # validation never blocks a call the server itself can judge
        rejection = _ladder().validate_mcp_param_headers(schema, arguments, headers) if schema is not None else None
        return (
            None if rejection is None else rpc.error(msg.get("id"), rejection.code, rejection.message, rejection.data)
        )

    # ---- GET and DELETE -----------------------------------------------------------------------------

    async def _get(self, scope: Scope, receive: Receive, send: Send, session_id: str | None) -> None:
        if session_id is None:
            raise MethodNotAllowed(
                "Method Not Allowed: GET opens a session's stream and needs Mcp-Session-Id "
                "(2026-07-28 clients use subscriptions/listen instead)",
                allow="POST",
            )
        session = self.bridge.get_session(session_id, caller=caller(scope))
        if session is None:
            raise NoSession(_NO_SESSION)
        if not accepts(scope)[1]:
            raise NotAcceptable("Not Acceptable: the stream needs Accept: text/event-stream")
        if self.bridge.draining:
            raise Unavailable("the bridge is shutting down", retry_after=1)
        stream = Exchange(None)
        if not session.attach_standalone(stream):
            raise Conflict("Conflict: this session already has an open GET stream")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*SSE_HEADERS, (b"mcp-session-id", session.id.encode())],
            }
        )
        await pump_stream(stream, receive, send)

    async def _delete(self, scope: Scope, send: Send, session_id: str | None) -> None:
        if session_id is None:
            raise InvalidRequest("Bad Request: DELETE needs Mcp-Session-Id")
        session = self.bridge.get_session(session_id, caller=caller(scope))
        if session is None or not await self.bridge.end_session(session.id):
            raise NoSession(_NO_SESSION)
        await send_empty(send, 200)


def refuse_unsupported_batch(session: Session) -> None:
    """A JSON-RPC batch is answered element by element up to 2025-03-26; later versions removed batching."""
    version = session.protocol_version
    if not rpc.batching_allowed(version):
        raise InvalidRequest(
            f"Invalid Request: batching is not supported by protocol version {version} "
            "(removed in 2025-06-18): send one JSON-RPC message per request",
        )


def _envelope_rejection(msg: Message, pairs: list[tuple[str, str]]) -> Message | None:
    """The per-request checks of 2026-07-28 that a stdio server cannot make: envelope and headers against the body.

    The SDK's own validation ladder decides, so the bridge rejects exactly what an SDK server would.
    """
    ladder = _ladder()
    duplicated = ladder.find_duplicated_routing_header(pairs)
    if duplicated is not None:
        return rpc.error(msg.get("id"), rpc.HEADER_MISMATCH, f"{duplicated} header appears more than once")
    verdict = ladder.classify_inbound_request(msg, headers=dict(pairs))
    if isinstance(verdict, ladder.InboundLadderRejection):
        return rpc.error(msg.get("id"), verdict.code, verdict.message, verdict.data)
    return None


async def pump_stream(stream: Exchange, receive: Receive, send: Send, first: bytes | None = None) -> None:
    """Relay a standing stream (GET, legacy SSE) until the client leaves or the stream ends."""

    async def relay(cancel: anyio.CancelScope) -> None:
        if first is not None:
            await send({"type": "http.response.body", "body": first, "more_body": True})
        while True:
            body = PING
            with anyio.move_on_after(PING_INTERVAL):  # only the wait: a slow client's write is not cut off
                try:
                    body = sse_event(await stream.receive.receive())
                except anyio.EndOfStream:
                    break
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        cancel.cancel()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(relay, tg.cancel_scope)
            await wait_disconnect(receive)
            tg.cancel_scope.cancel()
    except OSError:
        pass
    finally:
        stream.close()


def _ladder() -> ModuleType:
    """The SDK's request-validation ladder, imported by the first request that needs it: importing the `mcp`
    package builds its client and server too, a large part of the CPU a bridge spends starting, which a hundred
    adapters starting at once all pay, and which an adapter that is never called does not need."""
    import mcp.shared.inbound

    return mcp.shared.inbound
