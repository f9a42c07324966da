"""The ASGI application: transports, health, metrics, and the bridge's lifetime."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_bridge.bridge import Bridge, describe
from mcp_bridge.forward_app import create_forward_app
from mcp_bridge.guard import HostOriginGuard
from mcp_bridge.peers import PeerForwarder
from mcp_bridge.settings import BridgeSettings
from mcp_bridge.sse import LegacySSE
from mcp_bridge.streamable_http import StreamableHTTP


class _Endpoint:
    """A bound coroutine as a raw ASGI endpoint (Starlette would wrap a method as request/response)."""

    def __init__(self, handler: ASGIApp) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


def create_app(settings: BridgeSettings, environ: Mapping[str, str] | None = None) -> Starlette:
    if settings.mode == "forward":
        return create_forward_app(settings, os.environ if environ is None else environ)
    bridge = Bridge(settings, environ)
    peers = PeerForwarder(settings, bridge.metrics)
    streamable = StreamableHTTP(bridge, peers)
    legacy = LegacySSE(bridge, peers)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        state = describe(bridge)
        return JSONResponse({"ready": bridge.ready, **state}, status_code=200 if bridge.ready else 503)

    async def metrics(_: Request) -> Response:
        return PlainTextResponse(bridge.metrics.render(), media_type="text/plain; version=0.0.4")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            await tg.start(bridge.run)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await bridge.close()
                    await peers.aclose()

    app = Starlette(
        routes=[
            Route("/mcp", _Endpoint(streamable), methods=["GET", "POST", "DELETE"]),
            Route("/sse", _Endpoint(legacy.stream), methods=["GET"]),
            Route("/messages", _Endpoint(legacy.messages), methods=["POST"]),
            Route("/messages/", _Endpoint(legacy.messages), methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )
    app.state.bridge = bridge
    app.add_middleware(HostOriginGuard, settings=settings)
    return app
