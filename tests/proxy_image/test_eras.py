"""Clients of both protocol eras, through the bridge, in front of stdio servers of each era."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp_types import CallToolResult, TextContent

pytestmark = pytest.mark.anyio

CLIENT_MODES = ("legacy", "2026-07-28", "auto")


def text(result: CallToolResult) -> str:
    assert not result.is_error, result
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text


@pytest.fixture(scope="module", params=["legacy", "modern", "dual"])
def bridged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One bridge per server era, shared by the tests of this module."""
    import os
    import signal
    import subprocess

    from tests.conftest import VENV_BIN
    from tests.proxy_image.conftest import RunningBridge, free_port, server_args

    port = free_port()
    log_path = tmp_path_factory.mktemp("bridge") / "bridge.log"
    env = {
        **os.environ,
        "MCP_COMMAND": sys.executable,
        "MCP_ARGS": server_args(request.param),
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(VENV_BIN / "mcp-bridge")], env=env, stdout=log, stderr=subprocess.STDOUT)
    bridge = RunningBridge(process, port, log_path, env)
    bridge.wait_ready()
    yield request.param, bridge
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


@pytest.mark.parametrize("mode", CLIENT_MODES)
async def test_tools_work_for_every_client_era(bridged: Any, mode: str) -> None:
    _, bridge = bridged
    async with Client(bridge.url, mode=mode) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"echo", "add", "slow"} <= tools
        assert text(await client.call_tool("echo", {"message": "héllo"})) == "héllo"
        assert (await client.call_tool("add", {"a": 2, "b": 40})).structured_content == {"result": 42}


@pytest.mark.parametrize("mode", CLIENT_MODES)
async def test_progress_reaches_the_caller(bridged: Any, mode: str) -> None:
    _, bridge = bridged
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(bridge.url, mode=mode) as client:
        result = await client.call_tool("slow", {"seconds": 0.2, "steps": 4}, progress_callback=on_progress)
    assert not result.is_error
    # The server reports before the first step and after each of the four.
    assert seen == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("mode", CLIENT_MODES)
async def test_prompts_resources_and_completions_pass_through(bridged: Any, mode: str) -> None:
    _, bridge = bridged
    async with Client(bridge.url, mode=mode) as client:
        prompts = (await client.list_prompts()).prompts
        assert prompts
        resources = (await client.list_resources()).resources
        assert resources
        read = await client.read_resource(resources[0].uri)
        assert read.contents


async def test_legacy_sse_transport(bridged: Any) -> None:
    _, bridge = bridged
    async with Client(sse_client(f"{bridge.base}/sse"), mode="legacy") as client:
        assert text(await client.call_tool("echo", {"message": "over sse"})) == "over sse"
        assert (await client.call_tool("add", {"a": 1, "b": 2})).structured_content == {"result": 3}


async def test_concurrent_stateless_requests_share_a_process(bridged: Any) -> None:
    _, bridge = bridged
    results: dict[int, str] = {}
    pids: set[int] = set()

    async with Client(bridge.url, mode="2026-07-28") as client:

        async def call(i: int) -> None:
            results[i] = text(await client.call_tool("echo", {"message": f"m{i}"}))
            env = await client.call_tool("env", {"name": "HOME"})
            assert env.structured_content is not None
            pids.add(env.structured_content["pid"])

        async with anyio.create_task_group() as tg:
            for i in range(40):
                tg.start_soon(call, i)
    assert results == {i: f"m{i}" for i in range(40)}
    # The stateless pool multiplexes: far fewer processes than requests.
    assert 1 <= len(pids) <= 2


async def test_handshake_sessions_are_isolated(bridged: Any) -> None:
    era, bridge = bridged
    async with Client(bridge.url, mode="legacy") as first, Client(bridge.url, mode="legacy") as second:
        one = (await first.call_tool("env", {"name": "HOME"})).structured_content
        two = (await second.call_tool("env", {"name": "HOME"})).structured_content
    assert one is not None
    assert two is not None
    if era == "modern":
        # Served by translation over the shared pool: no process of their own exists.
        assert one["pid"] == two["pid"]
    else:
        assert one["pid"] != two["pid"]
