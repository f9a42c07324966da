"""A stdio MCP server that costs next to nothing per call: the `add` tool, in the standard library only.

The benchmark's usual server is built on the mcp SDK, and on a 2-core machine its
own CPU per call bounds every proxy in front of it. Behind this one the proxy is
the bottleneck, so `bridge_bench --server minimal` compares what the proxies
themselves cost. It speaks the 2025 handshake era (what the proxies use on stdio):
`initialize`, `ping`, `tools/list`, `tools/call`; any other request gets
"method not found", notifications are ignored.
"""

from __future__ import annotations

import json
import sys
from typing import Any

_TOOL = {
    "name": "add",
    "description": "Add two integers",
    "inputSchema": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}


def answer(request: dict[str, Any]) -> dict[str, Any]:
    method, params = request["method"], request.get("params") or {}
    if method == "initialize":
        result: dict[str, Any] = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "minimal", "version": "1"},
        }
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": [_TOOL]}
    elif method == "tools/call" and params.get("name") == "add":
        arguments = params.get("arguments") or {}
        total = int(arguments.get("a", 0)) + int(arguments.get("b", 0))
        result = {"content": [{"type": "text", "text": str(total)}], "isError": False}
    else:
        return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": f"no method {method}"}}
    return {"jsonrpc": "2.0", "id": request["id"], "result": result}


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if "id" in message and "method" in message:
            out.write(json.dumps(answer(message), separators=(",", ":")) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
