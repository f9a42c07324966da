"""What passes through the bridge unchanged, and what it translates or refuses clearly."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp_types import (
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequestParams,
    ElicitResult,
    LoggingMessageNotificationParams,
    TextContent,
)

from tests.proxy_image._raw import ACCEPT, MODERN_META, call, initialize, messages_of, modern_call

pytestmark = pytest.mark.anyio


async def sampling(context: ClientRequestContext, params: CreateMessageRequestParams) -> CreateMessageResult:
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="Paris"), model="test-model")


async def elicitation(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept", content={"name": "Ada"})


def only_text(result: Any) -> str:
    assert not result.is_error, result
    return str(result.content[0].text)


@pytest.mark.parametrize("era", ["legacy", "dual"])
async def test_server_requests_reach_a_handshake_client_and_its_answers_return(start_bridge: Any, era: str) -> None:
    bridge = start_bridge(era)
    async with Client(
        bridge.url, mode="legacy", sampling_callback=sampling, elicitation_callback=elicitation
    ) as client:
        assert "Paris" in only_text(await client.call_tool("sample", {"prompt": "capital of France?"}))
        assert "Ada" in only_text(await client.call_tool("elicit", {"message": "your name?"}))


async def test_input_required_results_reach_a_modern_client(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    async with Client(
        bridge.url, mode="2026-07-28", sampling_callback=sampling, elicitation_callback=elicitation
    ) as client:
        assert "Paris" in only_text(await client.call_tool("sample", {"prompt": "capital of France?"}))
        assert "Ada" in only_text(await client.call_tool("elicit", {"message": "your name?"}))


async def test_log_notifications_reach_the_session_that_caused_them(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    first: list[LoggingMessageNotificationParams] = []
    second: list[LoggingMessageNotificationParams] = []

    async def on_first(params: LoggingMessageNotificationParams) -> None:
        first.append(params)

    async def on_second(params: LoggingMessageNotificationParams) -> None:
        second.append(params)

    async with (
        Client(bridge.url, mode="legacy", logging_callback=on_first) as one,
        Client(bridge.url, mode="legacy", logging_callback=on_second) as two,
    ):
        await one.call_tool("log", {"message": "for one"})
        await two.call_tool("log", {"message": "for two"})
    assert [p.data for p in first] == ["for one"]
    assert [p.data for p in second] == ["for two"]


def test_unknown_methods_and_their_errors_pass_through_unchanged(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    with httpx.Client(timeout=10) as client:
        session = initialize(client, bridge.url)
        reply = messages_of(call(client, bridge.url, session, "vendor/never-heard-of", {"x": 1}, rid="s-1"))
    # The server's own answer, with the client's id (a string here) intact: the bridge did not rewrite it.
    assert reply[-1]["id"] == "s-1"
    assert reply[-1]["error"]["code"] == -32601


def test_modern_request_ids_are_restored_after_multiplexing(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    with httpx.Client(timeout=10) as client:
        response = modern_call(client, bridge.url, "tools/call", {"name": "echo", "arguments": {"message": "x"}})
    reply = messages_of(response)[-1]
    assert reply["id"] == 7
    assert reply["result"]["content"][0]["text"] == "x"


def test_modern_unknown_method_keeps_the_http_status_of_its_error(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    with httpx.Client(timeout=10) as client:
        response = modern_call(client, bridge.url, "vendor/never-heard-of")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32601


def test_legacy_server_is_described_to_modern_clients(start_bridge: Any) -> None:
    bridge = start_bridge("legacy")
    with httpx.Client(timeout=10) as client:
        discover = modern_call(client, bridge.url, "server/discover").json()["result"]
        listen = modern_call(client, bridge.url, "subscriptions/listen")
    assert discover["supportedVersions"] == ["2026-07-28"]
    assert "tools" in discover["capabilities"]
    assert discover["_meta"]["io.modelcontextprotocol/serverInfo"]["name"]
    assert listen.status_code == 404
    assert "subscriptions/listen" in listen.json()["error"]["message"]


def test_modern_server_refuses_nothing_a_legacy_session_needs(start_bridge: Any) -> None:
    """A 2026-07-28-only server: the bridge answers initialize and ping itself, relays the rest."""
    bridge = start_bridge("modern")
    with httpx.Client(timeout=10) as client:
        session = initialize(client, bridge.url)
        assert messages_of(call(client, bridge.url, session, "ping", rid=3))[-1] == {
            "jsonrpc": "2.0",
            "id": 3,
            "result": {},
        }
        tools = messages_of(call(client, bridge.url, session, "tools/list", rid=4))[-1]
    assert any(tool["name"] == "echo" for tool in tools["result"]["tools"])


def test_stateless_request_without_envelope_is_told_what_is_missing(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {}}}
    headers = {**ACCEPT, "MCP-Protocol-Version": "2026-07-28"}
    response = httpx.post(bridge.url, headers=headers, json=body)
    assert response.status_code == 400
    assert "io.modelcontextprotocol/protocolVersion" in response.json()["error"]["message"]


def test_modern_headers_are_compared_without_the_whitespace_around_them(start_bridge: Any) -> None:
    # RFC 9110 5.5: "  echo  " on the wire is the value "echo"; a mismatch is still refused.
    # (http.client, not httpx: h11 will not send a value with whitespace around it.)
    bridge = start_bridge("dual")
    url = urlsplit(bridge.url)

    def post(mcp_name: str) -> tuple[int, str]:
        body = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": "x"}, "_meta": MODERN_META},
        }
        headers = {**ACCEPT, "Content-Type": "application/json", "MCP-Protocol-Version": "2026-07-28"}
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        try:
            connection.request(
                "POST", url.path, json.dumps(body), {**headers, "Mcp-Method": "tools/call", "Mcp-Name": mcp_name}
            )
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    status, text = post("  echo  ")
    assert status == 200, text
    assert '"text":"x"' in text.replace(" ", "")
    status, text = post("add")
    assert status == 400
    assert json.loads(text)["error"]["code"] == -32020
