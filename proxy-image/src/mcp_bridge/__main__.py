"""`mcp-bridge`: serve one MCP server over streamable HTTP and SSE, configured by the environment."""

from __future__ import annotations

import gc
import logging
import sys
from types import FrameType

import uvicorn

from mcp_bridge import logs
from mcp_bridge.app import create_app
from mcp_bridge.bridge import Bridge
from mcp_bridge.errors import SettingsError
from mcp_bridge.settings import load_settings

logger = logging.getLogger("mcp_bridge")


class _DrainingServer(uvicorn.Server):
    """On SIGTERM: stop accepting, end standing streams, let in-flight requests finish within the grace period."""

    bridge: Bridge | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.bridge is not None and not self.bridge.draining:
            logger.info("draining", extra={"in_flight": self.bridge.in_flight(), "signal": sig})
            self.bridge.start_draining()
        super().handle_exit(sig, frame)


def main() -> None:
    try:
        settings = load_settings()
        logs.configure(settings.log_level, settings.log_format)
        app = create_app(settings)
    except SettingsError as exc:
        print(f"mcp-bridge: {exc}", file=sys.stderr)
        sys.exit(2)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.drain_grace) or None,
        timeout_keep_alive=30,
        lifespan="on",
    )
    server = _DrainingServer(config)
    # Everything imported and built so far lives as long as the process: keep it out of the cyclic collector,
    # whose full passes over it stalled every request in flight under load (the worst latencies).
    gc.collect()
    gc.freeze()
    server.bridge = app.state.bridge
    logger.info(
        "mcp-bridge starting",
        extra={
            "host": settings.host,
            "port": settings.port,
            "replica": settings.replica_id,
            "command": settings.argv[0] if settings.mode == "bridge" else None,
            "upstream": settings.proxy_url,
        },
    )
    server.run()


if __name__ == "__main__":
    main()
