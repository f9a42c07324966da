"""The ASGI application of forward mode: `/mcp` to the upstream, plus health, readiness and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mcp_bridge import jsonrpc as rpc
from mcp_bridge.forward import Forwarder
from mcp_bridge.guard import HostOriginGuard
from mcp_bridge.identity import Credential
from mcp_bridge.settings import BridgeSettings


class _Relay:
    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.forwarder(scope, receive, send)


async def _no_legacy_sse(_: Request) -> Response:
    message = "forward mode relays streamable HTTP at /mcp only; legacy SSE is served in bridge mode"
    return JSONResponse(rpc.error(None, rpc.METHOD_NOT_FOUND, message), status_code=404)


def create_forward_app(
    settings: BridgeSettings,
    environ: Mapping[str, str],
    *,
    credential: Credential | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    forwarder = Forwarder(settings, environ, credential=credential, transport=transport)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        ready, state = await forwarder.readiness()
        return JSONResponse({"ready": ready, **state}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return PlainTextResponse(forwarder.metrics.render(), media_type="text/plain; version=0.0.4")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            await tg.start(forwarder.run)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                with anyio.CancelScope(shield=True):
                    await forwarder.aclose()

    relay = _Relay(forwarder)
    app = Starlette(
        routes=[
            Route("/mcp", relay, methods=["GET", "POST", "DELETE"]),
            Route("/sse", _no_legacy_sse, methods=["GET"]),
            Route("/messages", _no_legacy_sse, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )
    app.state.bridge = forwarder  # what `__main__` drains on SIGTERM
    app.state.forwarder = forwarder
    app.add_middleware(HostOriginGuard, settings=settings)
    return app
