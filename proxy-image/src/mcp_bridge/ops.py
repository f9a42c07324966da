"""The application both modes build (`mcp_app`): `/mcp` without Starlette's middleware stack and router, what
they serve besides MCP (liveness, readiness, metrics), and raw ASGI endpoints for Starlette."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_bridge.guard import HostOriginGuard
from mcp_bridge.metrics import Metrics
from mcp_bridge.settings import BridgeSettings

MCP_METHODS = frozenset({"GET", "POST", "DELETE"})
Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


class AsgiEndpoint:
    """A bound coroutine as a raw ASGI endpoint (Starlette would wrap a method as request/response)."""

    def __init__(self, handler: ASGIApp) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


class HotPathApp(Starlette):
    """Starlette, except that one path's methods go straight to a raw ASGI handler.

    Under load, Starlette's middleware stack and router were a visible share of
    the bridge's time per `/mcp` request for no work of their own; the handler
    brings its own guard. Other paths and methods (HEAD, 405s, the lifespan)
    take the ordinary Starlette route, so they behave as before.
    """

    def __init__(self, *, hot_path: str, hot_methods: frozenset[str], hot: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hot_path, self.hot_methods, self.hot = hot_path, hot_methods, hot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.hot_path and scope["method"] in self.hot_methods:
            await self.hot(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def mcp_app(
    mcp: ASGIApp,
    *,
    settings: BridgeSettings,
    routes: list[Route],
    readiness: Readiness,
    metrics: Metrics,
    lifespan: Lifespan,
) -> Starlette:
    """What both modes serve: `mcp` at `/mcp` on the hot path, `routes`, and the operations routes, every one
    behind the Host/Origin guard."""
    app = HotPathApp(
        hot_path="/mcp",
        hot_methods=MCP_METHODS,
        hot=HostOriginGuard(mcp, settings=settings),
        routes=[Route("/mcp", mcp, methods=list(MCP_METHODS)), *routes, *operations_routes(readiness, metrics)],
        lifespan=lifespan,
    )
    app.add_middleware(HostOriginGuard, settings=settings)
    return app


def operations_routes(readiness: Readiness, metrics: Metrics) -> list[Route]:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        ready, state = await readiness()
        return JSONResponse({"ready": ready, **state}, status_code=200 if ready else 503)

    async def metrics_text(_: Request) -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics_text)]
