"""What both bridge apps serve besides MCP (liveness, readiness, metrics), and raw ASGI endpoints for Starlette."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_bridge.metrics import Metrics

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


class AsgiEndpoint:
    """A bound coroutine as a raw ASGI endpoint (Starlette would wrap a method as request/response)."""

    def __init__(self, handler: ASGIApp) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


def operations_routes(readiness: Readiness, metrics: Metrics) -> list[Route]:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        ready, state = await readiness()
        return JSONResponse({"ready": ready, **state}, status_code=200 if ready else 503)

    async def metrics_text(_: Request) -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics_text)]
