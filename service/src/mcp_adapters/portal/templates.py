"""Adapter templates the portal offers: the documented example payloads and, from a checkout, a local demo.

The examples are read from `docs/examples/` next to the package when the service runs from a checkout (or from
`MCP_ADAPTERS_PORTAL_TEMPLATES_DIR`). The local demo bridges the repository's test MCP server with this Python,
so a new user can create an adapter that works with no internet and no npm.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from pydantic import BaseModel

_CHECKOUT = Path(__file__).resolve().parents[4]
_TEST_SERVER = _CHECKOUT / "tests" / "servers" / "everything.py"


class Template(BaseModel):
    id: str
    title: str
    description: str
    payload: dict[str, object]


def templates(examples_dir: Path | None) -> list[Template]:
    found: list[Template] = []
    if _TEST_SERVER.is_file():
        found.append(
            Template(
                id="local-demo",
                title="Local demo: the repository's test server",
                description="Bridges tests/servers/everything.py (tools add, echo, env, stderr, ...) on this machine.",
                payload={
                    "name": "demo",
                    "imageName": "mcp-proxy",
                    "imageVersion": "1.0.0",
                    "description": "The repository's test MCP server, bridged by the local target.",
                    "environmentVariables": {
                        "MCP_COMMAND": sys.executable,
                        "MCP_ARGS": shlex.join([str(_TEST_SERVER), "--era", "dual"]),
                    },
                    "replicaCount": 1,
                },
            )
        )
    directory = examples_dir or _CHECKOUT / "docs" / "examples"
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(payload, dict):
            description = str(payload.get("description") or f"The example payload {path.name}.")
            found.append(
                Template(id=path.stem, title=f"Example: {path.stem}", description=description, payload=payload)
            )
    return found
