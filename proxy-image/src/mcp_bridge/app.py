"""The ASGI application: transports, health, metrics, and the bridge's lifetime."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.routing import Route

from mcp_bridge.bridge import Bridge
from mcp_bridge.ops import AsgiEndpoint, mcp_app
from mcp_bridge.peers import PeerForwarder
from mcp_bridge.settings import BridgeSettings
from mcp_bridge.sse import LegacySSE
from mcp_bridge.streamable_http import StreamableHTTP


def create_app(settings: BridgeSettings, environ: Mapping[str, str] | None = None) -> Starlette:
    if settings.mode == "forward":
        from mcp_bridge.forward_app import create_forward_app  # forward mode only: httpx and Azure's SDK

        return create_forward_app(settings, os.environ if environ is None else environ)
    bridge = Bridge(settings, environ)
    peers = PeerForwarder(settings, bridge.metrics)
    streamable = StreamableHTTP(bridge, peers)
    legacy = LegacySSE(bridge, peers)

    async def readiness() -> tuple[bool, dict[str, Any]]:
        return bridge.ready, bridge.state()

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

    legacy_routes = [
        Route("/sse", AsgiEndpoint(legacy.stream), methods=["GET"]),
        Route("/messages", AsgiEndpoint(legacy.messages), methods=["POST"]),
        Route("/messages/", AsgiEndpoint(legacy.messages), methods=["POST"]),
    ]
    app = mcp_app(
        streamable,
        settings=settings,
        routes=legacy_routes,
        readiness=readiness,
        metrics=bridge.metrics,
        lifespan=lifespan,
    )
    app.state.bridge = bridge
    return app
