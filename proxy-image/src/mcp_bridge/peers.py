"""Forwarding to the replica that owns a session, so any load balancer works in front of several replicas."""

from __future__ import annotations

import logging

import anyio
import httpx
from starlette.types import Receive, Scope, Send

from mcp_bridge._http import read_body, send_error
from mcp_bridge.errors import BodyTooLarge, NoSession
from mcp_bridge.metrics import Metrics
from mcp_bridge.reverse_proxy import HOP_BY_HOP, cancel_on_disconnect, end_to_end, start_response, stream_body
from mcp_bridge.settings import BridgeSettings

logger = logging.getLogger("mcp_bridge.peers")

FORWARDED_HEADER = b"x-mcp-bridge-forwarded"
# Besides the hop-by-hop headers: each leg has its own Host, and the body is sent again (its length with it).
_NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length"}


class PeerForwarder:
    def __init__(self, settings: BridgeSettings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=5.0, read=None, write=30.0, pool=10.0), follow_redirects=False
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def forward(self, owner: str, scope: Scope, receive: Receive, send: Send) -> None:
        gone = NoSession("Session not found: start a new session with initialize")
        base = self.settings.peer_url(owner)
        already_forwarded = any(key == FORWARDED_HEADER for key, _ in scope["headers"])
        if base is None or already_forwarded:
            # Unknown owner, or a forwarding loop: the session cannot be reached, so the client starts over.
            await send_error(send, gone)
            return
        try:
            body = await read_body(receive, self.settings.max_body_bytes)
        except BodyTooLarge as exc:
            await send_error(send, exc)
            return
        headers = end_to_end(scope["headers"], _NOT_FORWARDED)
        headers.append((FORWARDED_HEADER, self.settings.replica_id.encode()))
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{base}{scope['path']}" + (f"?{query}" if query else "")
        request = self.client.build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            logger.warning("owner replica unreachable", extra={"replica": owner, "error": str(exc)})
            await send_error(send, gone)
            return
        self.metrics.forwarded.inc()
        try:
            await start_response(send, response, _NOT_FORWARDED)
            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_on_disconnect, receive, tg.cancel_scope)
                await stream_body(response, send)
                tg.cancel_scope.cancel()
        except (httpx.HTTPError, OSError):
            pass
        finally:
            await response.aclose()
