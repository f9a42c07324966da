"""The everything test server behaves as designed in each protocol era, driven by the real `mcp.Client` over stdio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.context import ClientRequestContext
from mcp.client.subscriptions import ResourceUpdated
from mcp_types import (
    METHOD_NOT_FOUND,
    UNSUPPORTED_PROTOCOL_VERSION,
    CallToolResult,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequestParams,
    ElicitResult,
    LoggingMessageNotificationParams,
    ResourceUpdatedNotification,
    TextContent,
)

SERVER = Path(__file__).with_name("everything.py")

pytestmark = pytest.mark.anyio


def server(era: str, *extra: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[str(SERVER), "--era", era, *extra], env=env, cwd=cwd)


def text(result: CallToolResult) -> str:
    assert not result.is_error, result
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text


async def sampling(context: ClientRequestContext, params: CreateMessageRequestParams) -> CreateMessageResult:
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="Paris"), model="test-model")


async def elicitation(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept", content={"name": "Ada"})


@pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")  # resources/subscribe is the legacy way
async def test_legacy_server_speaks_the_handshake_era_only() -> None:
    logs: list[LoggingMessageNotificationParams] = []
    updates: list[str] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        logs.append(params)

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    async with Client(
        server("legacy"),
        mode="auto",  # probes server/discover first: a handshake-only server answers -32601, so it falls back
        sampling_callback=sampling,
        elicitation_callback=elicitation,
        logging_callback=on_log,
        message_handler=on_message,
    ) as client:
        assert client.protocol_version == "2025-11-25"
        assert text(await client.call_tool("echo", {"message": "hi"})) == "hi"
        assert text(await client.call_tool("add", {"a": 2, "b": 3})) == "5"
        assert text(await client.call_tool("sample", {"prompt": "Capital of France?"})) == "LLM said: Paris"
        assert text(await client.call_tool("elicit", {"message": "Who are you?"})) == "Hello, Ada!"
        await client.call_tool("log", {"message": "hello log", "level": "warning"})
        assert [(entry.level, entry.data) for entry in logs] == [("warning", "hello log")]

        await client.subscribe_resource("test://watched-resource")
        await client.call_tool("touch", {"uri": "test://watched-resource"})
        with anyio.fail_after(5):
            while not updates:
                await anyio.sleep(0)  # yields to the reader task; bounded by fail_after
        assert updates == ["test://watched-resource"]

        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
        assert prompt.messages[0].content == TextContent(type="text", text="Prompt with arguments: arg1='a', arg2='b'")
        completion = await client.complete(
            {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, {"name": "arg1", "value": "par"}
        )
        assert completion.completion.values == ["paris", "park", "party"]


async def test_modern_server_refuses_the_handshake() -> None:
    refusal = pytest.RaisesGroup(
        pytest.RaisesExc(MCPError, check=lambda e: e.error.code == UNSUPPORTED_PROTOCOL_VERSION),
        allow_unwrapped=True,
        flatten_subgroups=True,
    )
    with refusal:
        async with Client(server("modern"), mode="legacy"):
            pass


async def test_modern_server_asks_for_input_with_input_required_results() -> None:
    asked: list[str] = []

    async def elicit_and_record(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return await elicitation(context, params)

    async with Client(
        server("modern"), mode="2026-07-28", sampling_callback=sampling, elicitation_callback=elicit_and_record
    ) as client:
        assert client.protocol_version == "2026-07-28"
        # The client fulfils the input-required result and retries; the server sent no request of its own.
        assert text(await client.call_tool("elicit", {"message": "Who are you?"})) == "Hello, Ada!"
        assert asked == ["Who are you?"]
        assert text(await client.call_tool("sample", {"prompt": "Capital of France?"})) == "LLM said: Paris"

        async with client.listen(resource_subscriptions=["test://watched-resource"]) as subscription:
            await client.call_tool("touch", {"uri": "test://watched-resource"})
            with anyio.fail_after(5):
                event = await subscription.__anext__()
        assert event == ResourceUpdated(uri="test://watched-resource")


async def test_legacy_server_has_no_discover() -> None:
    # What an old server does with the modern opening request: the method does not exist.
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "server/discover",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}},
    }
    completed = subprocess.run(
        [sys.executable, str(SERVER), "--era", "legacy"],
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(completed.stdout)["error"]["code"] == METHOD_NOT_FOUND


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_dual_server_follows_the_client(mode: str, version: str) -> None:
    async with Client(server("dual"), mode=mode) as client:
        assert client.protocol_version == version
        assert text(await client.call_tool("echo", {"message": "both"})) == "both"


async def test_environment_cwd_and_pid_are_the_processes_own(tmp_path: Path) -> None:
    params = server("dual", env={"EVERYTHING_PROBE": "seen"}, cwd=tmp_path)
    async with Client(params) as first, Client(params) as second:
        one = json.loads(text(await first.call_tool("env", {"name": "EVERYTHING_PROBE"})))
        two = json.loads(text(await second.call_tool("env", {"name": "EVERYTHING_PROBE"})))
    assert one["value"] == "seen"
    assert Path(one["cwd"]) == tmp_path
    assert one["pid"] != two["pid"] != os.getpid()


async def test_slow_tool_reports_progress_and_honours_cancellation() -> None:
    progressed = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        progressed.set()

    async with Client(server("legacy")) as client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    lambda: client.call_tool("slow", {"seconds": 60, "steps": 60}, progress_callback=on_progress)
                )
                await progressed.wait()
                tg.cancel_scope.cancel()
        stats = json.loads(text(await client.call_tool("stats", {"wait_cancelled": 1, "timeout": 5})))
    assert stats == {"slow_started": 1, "slow_completed": 0, "slow_cancelled": 1}


async def test_crash_ends_the_process_without_an_answer() -> None:
    async with Client(server("legacy"), read_timeout_seconds=10) as client:
        with pytest.raises(MCPError):
            await client.call_tool("crash", {"code": 3})


def test_fail_start_exits_with_a_message() -> None:
    completed = subprocess.run(
        [sys.executable, str(SERVER), "--fail-start"], capture_output=True, text=True, timeout=30, check=False
    )
    assert completed.returncode == 1
    assert "--fail-start" in completed.stderr
