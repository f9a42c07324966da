"""Small ASGI helpers shared by the transports: bodies with a limit, JSON, error and SSE responses."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Receive, Scope, Send

from mcp_bridge.errors import BodyTooLarge, ClientError, ClientGone
from mcp_bridge.jsonrpc import Message, dumps

SSE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
PING = b": ping\n\n"
# Who is calling, as the control plane's relay or the ingress's forward auth says (the caller's own copy is
# stripped before it gets here).
USER_HEADER = b"x-mcp-userid"


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; BodyTooLarge past `limit` bytes, ClientGone if the client leaves first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise ClientGone
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not event.get("more_body", False):
            return b"".join(chunks)


async def wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def caller(scope: Scope) -> str | None:
    """The identity that sends this request, None when nobody says (the bridge run by hand).

    Every copy of the header counts: two copies never equal one, so a request cannot add an identity to another.
    """
    values = [value.decode("latin-1") for key, value in scope["headers"] if key == USER_HEADER]
    return "\n".join(values) if values else None


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def send_error(send: Send, error: ClientError) -> None:
    """The one way a ClientError becomes an HTTP response: its status, its JSON-RPC error, its headers."""
    await send_json(send, error.status, error.reply(), error.headers)


async def send_empty(send: Send, status: int, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0"), *(headers or [])]}
    )
    await send({"type": "http.response.body", "body": b""})


def sse_event(message: Message, event: str = "message") -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + dumps(message) + b"\n\n"


def accepts(scope: Scope) -> tuple[bool, bool]:
    """(JSON acceptable, SSE acceptable) from the Accept header; no header accepts both."""
    accept = (header(scope, b"accept") or "*/*").lower()
    wildcard = "*/*" in accept
    return (wildcard or "application/json" in accept or "application/*" in accept), (
        wildcard or "text/event-stream" in accept
    )
