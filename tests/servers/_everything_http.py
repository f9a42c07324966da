"""Serve the everything server over the SDK's own streamable HTTP (both eras) at `/mcp`.

Prints `listening on http://HOST:PORT/mcp` on stderr once the socket accepts, so a
harness can wait for that line instead of sleeping.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer


async def serve_http(app: MCPServer[Any], host: str, port: int) -> None:
    starlette_app = app.streamable_http_app(host=host)
    config = uvicorn.Config(starlette_app, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)

    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets)
        print(f"listening on http://{host}:{port}/mcp", file=sys.stderr, flush=True)

    server.startup = startup  # type: ignore[method-assign]
    await server.serve()
