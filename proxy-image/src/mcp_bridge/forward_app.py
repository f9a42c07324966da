"""The ASGI application of forward mode: `/mcp` to the upstream, plus health, readiness and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_bridge import jsonrpc as rpc
from mcp_bridge.forward import Forwarder
from mcp_bridge.identity import Credential
from mcp_bridge.ops import mcp_app
from mcp_bridge.settings import BridgeSettings


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

    app = mcp_app(
        forwarder,
        settings=settings,
        routes=[Route("/sse", _no_legacy_sse, methods=["GET"]), Route("/messages", _no_legacy_sse, methods=["POST"])],
        readiness=forwarder.readiness,
        metrics=forwarder.metrics,
        lifespan=lifespan,
    )
    app.state.bridge = forwarder  # what `__main__` drains on SIGTERM
    app.state.forwarder = forwarder
    return app
