"""Forwarding to the replica that owns a session, so any load balancer works in front of several replicas."""

from __future__ import annotations

import logging

import anyio
import httpx
from starlette.types import Receive, Scope, Send

from mcp_bridge import jsonrpc as rpc
from mcp_bridge._http import BodyTooLarge, read_body, send_json
from mcp_bridge.metrics import Metrics
from mcp_bridge.settings import BridgeSettings

logger = logging.getLogger("mcp_bridge.peers")

FORWARDED_HEADER = b"x-mcp-bridge-forwarded"
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailers",
    b"transfer-encoding",
    b"upgrade",
    b"host",
    b"content-length",
}


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
        gone = rpc.error(None, rpc.SERVER_UNAVAILABLE, "Session not found: start a new session with initialize")
        base = self.settings.peer_url(owner)
        already_forwarded = any(key == FORWARDED_HEADER for key, _ in scope["headers"])
        if base is None or already_forwarded:
            # Unknown owner, or a forwarding loop: the session cannot be reached, so the client starts over.
            await send_json(send, 404, gone)
            return
        try:
            body = await read_body(receive, self.settings.max_body_bytes)
        except BodyTooLarge:
            await send_json(send, 413, rpc.error(None, rpc.INVALID_REQUEST, "the request body is too large"))
            return
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP]
        headers.append((FORWARDED_HEADER, self.settings.replica_id.encode()))
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{base}{scope['path']}" + (f"?{query}" if query else "")
        request = self.client.build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            logger.warning("owner replica unreachable", extra={"replica": owner, "error": str(exc)})
            await send_json(send, 404, gone)
            return
        self.metrics.forwarded.inc()
        try:
            out_headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out_headers})
            async with anyio.create_task_group() as tg:

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(watch)
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                tg.cancel_scope.cancel()
        except (httpx.HTTPError, OSError):
            pass
        finally:
            await response.aclose()
