"""Processes, sessions and limits: what an operator of the bridge notices (the drain on stop: test_dockerfile.py)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.conftest import VENV_BIN
from tests.proxy_image._raw import (
    ACCEPT,
    call,
    initialize,
    messages_of,
    modern_call,
    post_initialize,
    sse_events,
)

pytestmark = pytest.mark.anyio


def log_entries(bridge: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in bridge.log().splitlines() if line.startswith("{")]


async def test_a_crashed_session_fails_its_request_then_is_gone(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    with httpx.Client(timeout=20) as client:
        session = initialize(client, bridge.url)
        crashed = messages_of(call(client, bridge.url, session, "tools/call", {"name": "crash", "arguments": {}}))
        assert crashed[-1]["error"]["code"] == -32001
        assert "exited" in crashed[-1]["error"]["message"]
        again = call(client, bridge.url, session, "tools/list", rid=2)
        assert again.status_code == 404  # the client starts over
    async with Client(bridge.url, mode="legacy") as fresh:
        assert (await fresh.call_tool("add", {"a": 1, "b": 1})).structured_content == {"result": 2}


def test_server_stderr_is_logged_with_its_sessions_tag(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    with httpx.Client(timeout=20) as client:
        session = initialize(client, bridge.url)
        call(client, bridge.url, session, "tools/call", {"name": "stderr", "arguments": {"message": "marker-42"}})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [e for e in log_entries(bridge) if "marker-42" in e.get("line", "")]
        if lines:
            break
        time.sleep(0.05)
    assert lines
    # The tag, not the id: a reader of the logs must not learn what would let them use the session.
    assert lines[0]["session"] == hashlib.sha256(session.encode()).hexdigest()[:12]
    assert session not in bridge.log()


def test_environment_reaches_the_server_without_the_bridge_settings(start_bridge: Any, tmp_path: Any) -> None:
    bridge = start_bridge("dual", AZURE_CLIENT_ID="client-123", MCP_CWD=str(tmp_path), MCP_BRIDGE_MAX_SESSIONS="7")
    with httpx.Client(timeout=20) as client:
        session = initialize(client, bridge.url)

        def env(name: str) -> dict[str, Any]:
            reply = messages_of(
                call(client, bridge.url, session, "tools/call", {"name": "env", "arguments": {"name": name}})
            )
            return dict(reply[-1]["result"]["structuredContent"])

        assert env("AZURE_CLIENT_ID")["value"] == "client-123"
        for own in ("MCP_COMMAND", "MCP_ARGS", "PORT", "MCP_BRIDGE_MAX_SESSIONS", "MCP_CWD"):
            assert env(own)["value"] is None, own
        assert env("HOME")["cwd"] == str(tmp_path)


def test_malformed_and_oversized_requests_get_clear_errors(start_bridge: Any) -> None:
    bridge = start_bridge("dual", MCP_BRIDGE_MAX_BODY_BYTES="2048")
    with httpx.Client(timeout=10) as client:
        broken = client.post(bridge.url, headers={**ACCEPT, "Content-Type": "application/json"}, content=b"{nope")
        assert broken.status_code == 400
        assert broken.json()["error"]["code"] == -32700
        not_rpc = client.post(bridge.url, headers=ACCEPT, json={"hello": "world"})
        assert not_rpc.status_code == 400
        assert not_rpc.json()["error"]["code"] == -32600
        huge = modern_call(client, bridge.url, "tools/call", {"name": "echo", "arguments": {"message": "x" * 5000}})
        assert huge.status_code == 413
        assert "MCP_BRIDGE_MAX_BODY_BYTES" in huge.json()["error"]["message"]
        no_session = client.post(bridge.url, headers=ACCEPT, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert no_session.status_code == 400
        assert "Mcp-Session-Id" in no_session.json()["error"]["message"]
        unknown = call(client, bridge.url, "nobody.0123456789abcdef0123456789abcdef", "tools/list")
        assert unknown.status_code == 404
    # The bridge is still healthy after all that.
    assert httpx.get(f"{bridge.base}/readyz").status_code == 200


def test_session_limit_is_a_clear_503(start_bridge: Any) -> None:
    bridge = start_bridge("dual", MCP_BRIDGE_MAX_SESSIONS="1")
    with httpx.Client(timeout=20) as client:
        initialize(client, bridge.url)
        refused = post_initialize(client, bridge.url)
    assert refused.status_code == 503
    assert "MCP_BRIDGE_MAX_SESSIONS" in refused.json()["error"]["message"]
    assert refused.headers["retry-after"]


def test_legacy_sse_answers_a_session_limit_as_streamable_http_does(start_bridge: Any) -> None:
    bridge = start_bridge("dual", MCP_BRIDGE_MAX_SESSIONS="1")
    init = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "initialize",
        "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    with httpx.Client(timeout=20) as client:
        initialize(client, bridge.url)
        refused = post_initialize(client, bridge.url).json()["error"]
        with client.stream("GET", f"{bridge.base}/sse", headers={"Accept": "text/event-stream"}) as stream:
            events = sse_events(stream)
            kind, endpoint = next(events)
            assert kind == "endpoint"
            assert client.post(f"{bridge.base}{endpoint}", json=init).status_code == 202
            answer = json.loads(next(events)[1])
    assert answer["id"] == 3
    assert answer["error"]["code"] == refused["code"] == -32003
    assert "MCP_BRIDGE_MAX_SESSIONS" in answer["error"]["message"]


def test_request_timeout_answers_and_cancels_the_server_side(start_bridge: Any) -> None:
    bridge = start_bridge("dual", MCP_BRIDGE_REQUEST_TIMEOUT="1")
    with httpx.Client(timeout=20) as client:
        session = initialize(client, bridge.url)
        slow = call(
            client, bridge.url, session, "tools/call", {"name": "slow", "arguments": {"seconds": 30, "steps": 30}}
        )
        reply = messages_of(slow)[-1]
        assert reply["error"]["code"] == -32002
        assert "MCP_BRIDGE_REQUEST_TIMEOUT" in reply["error"]["message"]
        # The server saw the cancellation (its counter waits for it, bounded).
        stats = messages_of(
            call(
                client, bridge.url, session, "tools/call", {"name": "stats", "arguments": {"wait_cancelled": 1}}, rid=9
            )
        )[-1]
    assert stats["result"]["structuredContent"]["slow_cancelled"] >= 1


def test_idle_sessions_are_closed(start_bridge: Any) -> None:
    bridge = start_bridge("dual", MCP_BRIDGE_SESSION_IDLE_TIMEOUT="0.5")
    with httpx.Client(timeout=20) as client:
        session = initialize(client, bridge.url)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if httpx.get(f"{bridge.base}/readyz").json()["sessions"] == 0:
                break
            time.sleep(0.1)
        assert call(client, bridge.url, session, "tools/list").status_code == 404


def test_a_server_that_cannot_start_keeps_the_bridge_unready_and_backs_off(start_bridge: Any) -> None:
    bridge = start_bridge("dual", "--fail-start", wait=False)
    state = bridge.wait_ready(expect=503).json()
    assert state["ready"] is False
    with httpx.Client(timeout=30) as client:
        first = post_initialize(client, bridge.url)
    assert first.status_code == 503
    assert first.json()["error"]["message"]
    restarts = [e for e in log_entries(bridge) if e["message"] == "restarting the shared server process"]
    deadline = time.monotonic() + 20
    while len(restarts) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        restarts = [e for e in log_entries(bridge) if e["message"] == "restarting the shared server process"]
    delays = [e["delay"] for e in restarts]
    assert len(delays) >= 3
    assert delays == sorted(delays)
    assert delays[-1] > delays[0]


def test_warm_pool_hides_a_slow_start(start_bridge: Any) -> None:
    bridge = start_bridge("dual", "--slow-start", "3", MCP_BRIDGE_WARM_POOL="1")
    # The warm process started together with the pool; wait until it has had time to come up.
    deadline = time.monotonic() + 20
    while (
        time.monotonic() < deadline
        and 'mcp_bridge_children{role="warm"} 1.0' not in httpx.get(f"{bridge.base}/metrics").text
    ):
        time.sleep(0.1)
    with httpx.Client(timeout=30) as client:
        started = time.monotonic()
        initialize(client, bridge.url)
        took = time.monotonic() - started
    assert took < 2.5, f"initialize waited {took:.1f}s although a warm process was ready"


def test_metrics_count_sessions_requests_and_restarts(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    with httpx.Client(timeout=20) as client:
        session = initialize(client, bridge.url)
        call(client, bridge.url, session, "tools/call", {"name": "echo", "arguments": {"message": "m"}})
        modern_call(client, bridge.url, "tools/list")
        metrics = client.get(f"{bridge.base}/metrics").text
    assert "mcp_bridge_sessions 1.0" in metrics
    assert 'mcp_bridge_requests_total{era="handshake",method="tools/call",outcome="ok"} 1.0' in metrics
    assert 'mcp_bridge_requests_total{era="stateless",method="tools/list",outcome="ok"} 1.0' in metrics
    assert "mcp_bridge_request_seconds_bucket" in metrics
    assert httpx.get(f"{bridge.base}/healthz").json() == {"status": "alive"}


def test_made_up_methods_do_not_grow_the_metrics(start_bridge: Any) -> None:
    """The method label comes from the caller: made-up names (unknown to the server: errors) share one label."""
    bridge = start_bridge("dual")
    with httpx.Client(timeout=20) as client:
        session = initialize(client, bridge.url)
        for i in range(20):
            call(client, bridge.url, session, f"made/up-{i}", rid=i + 2)
        metrics = client.get(f"{bridge.base}/metrics").text
    assert "made/up" not in metrics
    assert 'mcp_bridge_requests_total{era="handshake",method="other",outcome="error"} 20.0' in metrics


def test_dns_rebinding_is_refused_on_loopback(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    evil_host = httpx.get(f"{bridge.base}/readyz", headers={"Host": "evil.example:8000"})
    assert evil_host.status_code == 403
    assert "MCP_BRIDGE_ALLOWED_HOSTS" in evil_host.json()["error"]["message"]
    evil_origin = httpx.post(bridge.url, headers={**ACCEPT, "Origin": "http://evil.example"}, json={})
    assert evil_origin.status_code == 403
    assert httpx.get(f"{bridge.base}/readyz", headers={"Origin": f"http://localhost:{bridge.port}"}).status_code == 200


def test_two_replicas_route_a_session_to_its_owner(two_replicas: tuple[Any, Any]) -> None:
    a, b = two_replicas
    with httpx.Client(timeout=20) as client:
        session = initialize(client, a.url)
        assert session.startswith("replica-a.")
        via_b = messages_of(call(client, b.url, session, "tools/call", {"name": "env", "arguments": {"name": "X"}}))
        via_a = messages_of(
            call(client, a.url, session, "tools/call", {"name": "env", "arguments": {"name": "X"}}, rid=2)
        )
        assert via_b[-1]["result"]["structuredContent"]["pid"] == via_a[-1]["result"]["structuredContent"]["pid"]
        assert client.delete(b.url, headers={"Mcp-Session-Id": session}).status_code == 200
        assert call(client, a.url, session, "tools/list", rid=3).status_code == 404
        stranger = call(client, b.url, "replica-z.0123456789abcdef0123456789abcdef", "tools/list")
        assert stranger.status_code == 404
    assert "mcp_bridge_peer_forwards_total 2.0" in httpx.get(f"{b.base}/metrics").text


def test_startup_refuses_a_configuration_that_cannot_work() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    both = subprocess.run(
        [str(VENV_BIN / "mcp-bridge")],
        env={**env, "MCP_COMMAND": "x", "MCP_PROXY_URL": "https://example.invalid/mcp"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert both.returncode == 2
    assert "exactly one of MCP_COMMAND" in both.stderr
    quotes = subprocess.run(
        [str(VENV_BIN / "mcp-bridge")],
        env={**env, "MCP_COMMAND": "x", "MCP_ARGS": "'unclosed"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert quotes.returncode == 2
    assert "MCP_ARGS" in quotes.stderr


def test_allowed_hosts_admit_a_wildcard_of_replica_names(start_bridge: Any) -> None:
    bridge = start_bridge("dual", MCP_BRIDGE_ALLOWED_HOSTS="*.demo-peers.adapters.svc.cluster.local")
    peer = httpx.get(f"{bridge.base}/readyz", headers={"Host": "demo-1.demo-peers.adapters.svc.cluster.local:8000"})
    assert peer.status_code == 200
    assert httpx.get(f"{bridge.base}/readyz", headers={"Host": "evil.example"}).status_code == 403
