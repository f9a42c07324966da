"""What the three reverse proxies share: forward mode (`forward.py`), the peer forwarder (`peers.py`) and the
control plane's relay to its replicas (`mcp_adapters.dataplane.relay`).

Which headers stay on their own hop, watching for the client to leave, and
streaming an upstream's body back as it comes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import anyio
import httpx
from starlette.types import Receive, Send

from mcp_bridge._http import wait_disconnect

Headers = list[tuple[bytes, bytes]]

# RFC 9110 7.6.1: the fields about one connection, which a proxy does not pass on (the header is `Trailer`;
# `Trailers` was a typo of RFC 2616's list), plus the proxy credentials of RFC 9110 11.7, which are for this hop.
HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"proxy-connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)


def end_to_end(headers: Iterable[tuple[bytes, bytes]], drop: frozenset[bytes] = HOP_BY_HOP) -> Headers:
    """The headers a proxy passes on: none in `drop` (HOP_BY_HOP and what else a proxy keeps to its hop), nor
    those the Connection header names. The names come out in lower case, as ASGI wants them.

    One pass over the headers, as cheap as a plain filter: this runs for every response forward mode relays.
    """
    kept: Headers = []
    connection: list[bytes] = []
    for name, value in headers:
        lower = name.lower()
        if lower not in drop:
            kept.append((lower, value))
        elif lower == b"connection":
            connection.append(value)
    if connection:
        named = {option.strip().lower() for value in connection for option in value.split(b",")}
        kept = [(name, value) for name, value in kept if name not in named]
    return kept


async def cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope, *, after: anyio.Event | None = None) -> None:
    """Cancel `scope` once the client disconnects.

    `after` is set once the request body is read: until then the body's reader owns `receive`.
    """
    if after is not None:
        await after.wait()
    await wait_disconnect(receive)
    scope.cancel()


async def start_response(send: Send, response: httpx.Response, drop: frozenset[bytes] = HOP_BY_HOP) -> None:
    """The upstream's status and end-to-end headers, as the start of the client's response."""
    headers = end_to_end(response.headers.raw, drop)
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})


async def stream_body(response: httpx.Response, send: Send) -> None:
    """The upstream's body to the client as it comes (SSE passes through live), then the end of the response."""
    async for chunk in response.aiter_raw():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
