"""Forward mode passes the upstream what streamable HTTP needs and nothing that says who the caller is."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest

from tests.proxy_image._forward_upstream import ScriptedUpstream, serve
from tests.proxy_image.conftest import READY_DEADLINE

pytestmark = pytest.mark.anyio

# What a caller's request carries once the platform's ingress and relay have seen it, plus what it sent itself.
IDENTITY = {
    "Authorization": "Bearer platform-token-for-the-caller",
    "Proxy-Authorization": "Basic c2VjcmV0",
    "Cookie": "oauth2_proxy=caller-session",
    "X-Mcp-UserId": "alice",
    "X-Mcp-Roles": "Tools.Read",
    "X-Dev-UserId": "alice",
    "X-Dev-Roles": "Admin",
    "X-Auth-Request-User": "alice",
    "X-Auth-Request-Email": "alice@example.com",
    "X-Auth-Request-Access-Token": "caller-access-token",
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Host": "adapters.example.com",
    "X-Forwarded-Proto": "https",
    "X-Original-Forwarded-For": "203.0.113.7",
    "X-Real-IP": "203.0.113.7",
    "Forwarded": "for=203.0.113.7;proto=https",
    "X-Ms-Client-Principal": "eyJ1c2VyIjoiYWxpY2UifQ==",
    "X-Ms-Client-Principal-Name": "alice@example.com",
    "X-Ms-Client-Principal-Id": "00000000-0000-0000-0000-00000000a11c",
    "X-Ms-Token-Aad-Access-Token": "caller-aad-token",
}
MCP = {
    "Accept": "application/json, text/event-stream",
    "Accept-Encoding": "identity",
    "User-Agent": "raw-test/1",
    "Mcp-Session-Id": "up-session-1",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "tools/call",
    "Mcp-Name": "lookup",
    "Mcp-Param-Region": "westeurope",
    "Last-Event-ID": "41",
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
}


async def wait_ready(base: str) -> None:
    """Poll /readyz with a deadline (the upstream answers on this event loop, so no blocking wait)."""
    end = time.monotonic() + READY_DEADLINE
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < end:
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await anyio.sleep(0.05)  # polling interval of a condition with a deadline
    raise AssertionError("the forwarder never became ready")


async def test_identity_claims_and_credentials_stay_with_the_forwarder(start_bridge: Any) -> None:
    upstream = ScriptedUpstream()
    async with serve(upstream) as upstream_base:
        bridge = start_bridge(
            wait=False,
            MCP_COMMAND="",
            MCP_ARGS="",
            MCP_PROXY_URL=f"{upstream_base}/mcp",
            MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL="true",
        )
        await wait_ready(bridge.base)
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "lookup"}}
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(bridge.url, json=body, headers={**IDENTITY, **MCP})
    assert response.status_code == 200, response.text
    seen = response.json()["headers"]
    assert set(seen) == {name.lower() for name in MCP} | {"host", "connection", "content-type", "content-length"}
    assert {name: seen[name.lower()] for name in MCP} == MCP
