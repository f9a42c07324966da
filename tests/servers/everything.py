"""The everything test server: one MCP server with every feature the bridge relays.

    python tests/servers/everything.py [--era legacy|modern|dual] [--slow-start S] [--fail-start]
    python tests/servers/everything.py --transport http --port N [--host 127.0.0.1]

stdio is the default transport (what the bridge runs); `--transport http` serves
the same server over the SDK's own streamable HTTP at `/mcp`, both eras, for the
conformance baseline and benchmarks. Also runs as `python -m everything` with
tests/servers on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _everything_app as feature
import _everything_fixtures as fixtures
import _everything_input_required as input_required
import anyio
from _everything_eras import ERAS, serve_stdio
from _everything_state import ServerState
from mcp.server.mcpserver import MCPServer


def build(state: ServerState | None = None) -> MCPServer[Any]:
    state = state or ServerState()
    app: MCPServer[Any] = MCPServer(
        feature.SERVER_NAME,
        version=feature.SERVER_VERSION,
        instructions="A test server exercising every MCP feature the bridge relays.",
        tools=fixtures.fixture_tools(),
    )
    feature.register_tools(app, state)
    feature.register_resources(app, state)
    feature.register_handshake_handlers(app, state)
    fixtures.register_content_tools(app)
    input_required.register_input_required_tools(app)
    input_required.register_prompts(app)
    input_required.register_resources(app)
    input_required.register_completions(app)
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="everything", description=__doc__.splitlines()[0])
    parser.add_argument("--era", choices=ERAS, default="dual", help="protocol era(s) served over stdio")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="http only")
    parser.add_argument("--port", type=int, default=8000, help="http only")
    parser.add_argument("--slow-start", type=float, default=0.0, metavar="SECONDS", help="wait before serving")
    parser.add_argument("--fail-start", action="store_true", help="exit 1 at once, with a message on stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.fail_start:
        print("everything: failing at start as asked (--fail-start)", file=sys.stderr, flush=True)
        sys.exit(1)
    if args.slow_start > 0:
        print(f"everything: starting slowly ({args.slow_start}s)", file=sys.stderr, flush=True)
        time.sleep(args.slow_start)  # the point of --slow-start: a server that is slow to come up
    app = build()
    if args.transport == "http":
        from _everything_http import serve_http

        anyio.run(serve_http, app, args.host, args.port)
    else:
        anyio.run(serve_stdio, feature.lowlevel(app), args.era)


if __name__ == "__main__":
    main()
