"""No JSON-RPC batch goes unanswered: 2025-03-26 sessions get an answer per element, later versions a clear refusal.

A batch of one used to be relayed to the server as the raw array and waited the whole request timeout.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.proxy_image._raw import ACCEPT, initialize, messages_of

# Far shorter than the bridge's request timeout: an unanswered batch fails the test instead of waiting it out.
DEADLINE = 5.0


def request(rid: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": rid,
        "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": rid, "b": 1}},
    }


def post_batch(client: httpx.Client, url: str, session: str, batch: list[Any], accept: str) -> httpx.Response:
    return client.post(url, headers={"Accept": accept, "Mcp-Session-Id": session}, json=batch, timeout=DEADLINE)


@pytest.mark.parametrize("era", ["dual", "modern"])  # a process per session; the pool behind a 2026-07-28 server
@pytest.mark.parametrize("accept", ["application/json, text/event-stream", "text/event-stream"])
def test_a_2025_03_26_batch_of_any_length_is_answered_element_by_element(
    start_bridge: Any, era: str, accept: str
) -> None:
    bridge = start_bridge(era)
    with httpx.Client(timeout=DEADLINE) as client:
        session = initialize(client, bridge.url, "2025-03-26")
        for size in (1, 2, 3):
            batch = [request(rid) for rid in range(1, size + 1)]
            response = post_batch(client, bridge.url, session, batch, accept)
            assert response.status_code == 200, response.text
            replies = {m["id"]: m for m in messages_of(response) if "id" in m and "method" not in m}
            assert sorted(replies) == list(range(1, size + 1))
            for rid, reply in replies.items():
                assert reply["result"]["structuredContent"] == {"result": rid + 1}
        note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}}
        assert post_batch(client, bridge.url, session, [note], accept).status_code == 202


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
def test_a_batch_after_2025_03_26_is_refused_with_a_clear_error_and_the_session_goes_on(
    start_bridge: Any, version: str
) -> None:
    bridge = start_bridge("dual")
    with httpx.Client(timeout=DEADLINE) as client:
        session = initialize(client, bridge.url, version)
        for size in (1, 2):
            response = post_batch(
                client, bridge.url, session, [request(r) for r in range(1, size + 1)], ACCEPT["Accept"]
            )
            assert response.status_code == 400
            error = response.json()["error"]
            assert error["code"] == -32600
            assert f"batching is not supported by protocol version {version}" in error["message"]
        single = client.post(bridge.url, headers={**ACCEPT, "Mcp-Session-Id": session}, json=request(5))
        assert messages_of(single)[-1]["result"]["structuredContent"] == {"result": 6}
