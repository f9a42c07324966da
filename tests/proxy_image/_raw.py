"""A minimal raw streamable-HTTP client, for what the SDK client deliberately never sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

ACCEPT = {"Accept": "application/json, text/event-stream"}
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1"},
}


def messages_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages in a response, whether it came as JSON or as SSE."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    body = response.json()
    return body if isinstance(body, list) else [body]


def sse_events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) of each event of a streamed SSE response, as they arrive."""
    event = "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            yield event, line[5:].strip()
            event = "message"


def post_initialize(client: httpx.Client, url: str, version: str = "2025-11-25") -> httpx.Response:
    """Send `initialize` and return the raw answer (which may be a refusal)."""
    return client.post(
        url,
        headers=ACCEPT,
        json={
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
        },
    )


def initialize(client: httpx.Client, url: str, version: str = "2025-11-25") -> str:
    response = post_initialize(client, url, version)
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert client.post(url, headers={**ACCEPT, "Mcp-Session-Id": session}, json=note).status_code == 202
    return session


def call(client: httpx.Client, url: str, session: str, method: str, params: Any = None, rid: Any = 1) -> httpx.Response:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        body["params"] = params
    return client.post(url, headers={**ACCEPT, "Mcp-Session-Id": session}, json=body)


def modern_call(client: httpx.Client, url: str, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {**(params or {}), "_meta": MODERN_META}}
    headers = {**ACCEPT, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
    # 2026-07-28 mirrors the tool, prompt or resource a request names in a header, and servers check it.
    named = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}.get(method)
    if named and params and named in params:
        headers["Mcp-Name"] = str(params[named])
    return client.post(url, headers=headers, json=body)
