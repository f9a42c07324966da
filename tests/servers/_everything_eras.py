"""Serve one `Server` over this process's stdio in one protocol era, or in both.

- `dual`: what every SDK 2.x stdio server does (`Server.run`): the first request
  locks the era of the process.
- `legacy`: a handshake-only server, like the Node / SDK 1.x servers in the wild:
  `initialize` and sessions; `server/discover` and `subscriptions/listen` do not
  exist at handshake versions, so they are answered -32601 (method not found).
- `modern`: a 2026-07-28-only server: every request carries its `_meta` envelope,
  and `initialize` gets -32022 (unsupported protocol version).
"""

from __future__ import annotations

from typing import Any, Literal

from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.runner import serve_loop
from mcp.server.stdio import stdio_server

Era = Literal["legacy", "modern", "dual"]
ERAS: tuple[Era, ...] = ("legacy", "modern", "dual")


async def serve_stdio(server: Server[Any], era: Era) -> None:
    # list_changed on: the fixtures change their tool and prompt lists at run time.
    options = server.create_initialization_options(
        NotificationOptions(tools_changed=True, prompts_changed=True, resources_changed=True)
    )
    async with stdio_server() as (read_stream, write_stream):
        if era == "dual":
            await server.run(read_stream, write_stream, options)
            return
        async with server.lifespan(server) as lifespan_state:
            try:
                if era == "legacy":
                    await serve_loop(
                        server, read_stream, write_stream, lifespan_state=lifespan_state, init_options=options
                    )
                else:
                    await _serve_modern_only(server, read_stream, write_stream, lifespan_state)
            finally:
                # stdio_server's writer drains until its stream closes; serve_dual_era_loop
                # closes it itself, the single-era loops do not.
                await write_stream.aclose()


async def _serve_modern_only(server: Server[Any], read_stream: Any, write_stream: Any, lifespan_state: Any) -> None:
    # The SDK serves the modern era over a stream pair only inside its dual-era loop,
    # which would lock a connection opened by `initialize` into the handshake era.
    # Its modern stream loop is private; this is the one place we call it, so a
    # modern-only stdio server behaves exactly as the dual loop does once modern
    # (same envelope checks, same -32022 for `initialize`).
    from mcp.server.runner import _serve_modern_stream  # pyright: ignore[reportPrivateUsage]

    await _serve_modern_stream(server, read_stream, write_stream, lifespan_state=lifespan_state, raise_exceptions=False)
