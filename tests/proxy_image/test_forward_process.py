"""The real `mcp-bridge` in forward mode in front of the everything server's own streamable HTTP, both eras."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.conftest import EVERYTHING, free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def everything_http() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(EVERYTHING), "--transport", "http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        end = time.monotonic() + 30
        while True:  # poll the condition (the port answers), with a deadline
            assert process.poll() is None, "the everything server exited"
            assert time.monotonic() < end, "the everything server never listened"
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def forward_env(url: str, **extra: str) -> dict[str, str]:
    return {"MCP_COMMAND": "", "MCP_ARGS": "", "MCP_PROXY_URL": url, "MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL": "true", **extra}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_sdk_clients_of_both_eras_call_tools_through_forward_mode(
    start_bridge: Any, everything_http: str, mode: str
) -> None:
    bridge = start_bridge(**forward_env(everything_http))
    async with Client(bridge.url, mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("add", {"a": 2, "b": 40})
        assert not result.is_error
        assert "42" in str(result.content[0].text)  # type: ignore[union-attr]
        streamed = await client.call_tool("slow", {"seconds": 0.2, "steps": 2})
        assert not streamed.is_error


async def test_readyz_reports_forward_mode_and_sigterm_stops_it(start_bridge: Any, everything_http: str) -> None:
    bridge = start_bridge(**forward_env(everything_http))
    ready = bridge.wait_ready().json()
    assert ready["mode"] == "forward"
    assert ready["reachable"] is True
    assert bridge.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
