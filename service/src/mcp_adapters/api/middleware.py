"""ASGI middleware that never buffers (the data plane streams through it): metrics and Host checks."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_adapters import metrics
from mcp_adapters.api.problems import problem_response
from mcp_adapters.errors import BadRequest


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                metrics.REQUESTS.labels(scope["method"], route, str(message["status"])).inc()
                metrics.REQUEST_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - began)
            await send(message)

        await self.app(scope, receive, observe)


class HostGuard:
    """Refuse requests whose Host is not ours: with development identity on loopback, a web page
    that rebinds its DNS name to 127.0.0.1 must not be able to drive the API."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.allowed and "*" not in self.allowed:
            host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.lower() not in self.allowed:
                refused = BadRequest(
                    f"Host {host!r} is not one this service answers to: add it to MCP_ADAPTERS_ALLOWED_HOSTS"
                )
                await problem_response(refused, scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)
