"""Forward mode: `/mcp` relayed to MCP_PROXY_URL, streamed both ways, errors reported as the upstream gave them."""

from __future__ import annotations

import http.client
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp_bridge._http import send_json
from mcp_bridge.app import create_app
from mcp_bridge.settings import BridgeSettings
from starlette.types import Receive, Scope, Send

from tests.conftest import free_port
from tests.proxy_image._forward_upstream import ScriptedUpstream, serve

pytestmark = pytest.mark.anyio


def forward_settings(url: str, **extra: Any) -> BridgeSettings:
    return BridgeSettings(proxy_url=url, host="127.0.0.1", upstream_allow_local=True, **extra)


@asynccontextmanager
async def forwarding(upstream: Any = None, url: str | None = None, **extra: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The forward app on loopback in front of `upstream`, and a client for it."""
    async with anyio.create_task_group() as tg:
        if url is None:
            upstream_base = await _start(tg, upstream)
            url = f"{upstream_base}/mcp"
        app = create_app(forward_settings(url, **extra), environ={})
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield client
        tg.cancel_scope.cancel()


async def _start(tg: Any, upstream: Any) -> str:
    ready: list[str] = []
    started = anyio.Event()

    async def run() -> None:
        async with serve(upstream) as base:
            ready.append(base)
            started.set()
            await anyio.Event().wait()

    tg.start_soon(run)
    await started.wait()
    return ready[0]


async def test_headers_and_body_reach_the_upstream_and_the_callers_authorization_does_not() -> None:
    upstream = ScriptedUpstream()
    async with forwarding(upstream) as client:
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo"}}
        response = await client.post(
            "/mcp",
            json=body,
            headers={
                "Authorization": "Bearer caller-secret",
                "Mcp-Session-Id": "sess-1",
                "MCP-Protocol-Version": "2026-07-28",
                "Mcp-Method": "tools/call",
                "Accept": "application/json, text/event-stream",
            },
        )
    assert response.status_code == 200
    echoed = response.json()
    assert json.loads(echoed["body"]) == body
    seen = echoed["headers"]
    assert "authorization" not in seen
    assert seen["mcp-session-id"] == "sess-1"
    assert seen["mcp-protocol-version"] == "2026-07-28"
    assert seen["mcp-method"] == "tools/call"
    assert seen["host"].startswith("127.0.0.1:")
    assert response.headers["mcp-session-id"] == "sess-1"


async def test_header_values_go_upstream_without_the_whitespace_around_them() -> None:
    # RFC 9110 5.5: "  add  " on the wire is the value "add". (http.client: httpx will not send the padding.)
    upstream = ScriptedUpstream()
    async with forwarding(upstream) as client:
        url = client.base_url

        def post() -> tuple[int, dict[str, Any]]:
            connection = http.client.HTTPConnection(url.host, url.port, timeout=10)
            try:
                body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add"}})
                connection.request("POST", "/mcp", body, {"Content-Type": "application/json", "Mcp-Name": "  add  "})
                response = connection.getresponse()
                return response.status, json.loads(response.read())
            finally:
                connection.close()

        status, echoed = await anyio.to_thread.run_sync(post)
    assert status == 200, echoed
    assert echoed["headers"]["mcp-name"] == "add"


async def test_the_upstreams_own_error_arrives_with_its_status_headers_and_body() -> None:
    async with forwarding(ScriptedUpstream()) as client:
        response = await client.post("/mcp?case=teapot", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 418
    assert response.text == "I am a teapot"
    assert response.headers["x-upstream"] == "yes"


async def test_an_event_stream_is_relayed_live_not_buffered() -> None:
    upstream = ScriptedUpstream()
    async with (
        forwarding(upstream) as client,
        client.stream("GET", "/mcp?case=stream", headers={"Accept": "text/event-stream"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["mcp-session-id"] == "up-1"
        lines = response.aiter_lines()
        with anyio.fail_after(10):
            assert await anext(lines) == "event: message"
            assert await anext(lines) == 'data: {"n":1}'
        # The second event does not exist until the first has reached the client.
        upstream.release.set()
        rest = [line async for line in lines]
    assert 'data: {"n":2}' in rest


async def test_a_client_that_leaves_closes_the_upstream_stream() -> None:
    upstream = ScriptedUpstream()
    async with forwarding(upstream) as client:
        async with client.stream("GET", "/mcp?case=endless", headers={"Accept": "text/event-stream"}) as response:
            with anyio.fail_after(10):
                assert await anext(response.aiter_lines()) == ": open"
        with anyio.fail_after(10):
            await upstream.stream_closed.wait()


async def test_an_upstream_that_does_not_answer_in_time_is_a_504_with_a_json_rpc_error() -> None:
    async with forwarding(ScriptedUpstream(), request_timeout=0.5) as client:
        response = await client.post("/mcp?case=hang", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == -32002
    assert "did not answer within 0.5s" in error["message"]


async def test_an_event_stream_answer_that_times_out_ends_with_a_timeout_error_for_the_request() -> None:
    upstream = ScriptedUpstream()
    call = {"jsonrpc": "2.0", "id": "call-9", "method": "tools/call", "params": {"name": "slow"}}
    async with (
        forwarding(upstream, request_timeout=0.5) as client,
        client.stream(
            "POST", "/mcp?case=endless", json=call, headers={"Accept": "application/json, text/event-stream"}
        ) as response,
    ):
        with anyio.fail_after(10):
            lines = [line async for line in response.aiter_lines()]
    # What the upstream sent is relayed, then the stream ends with an answer to the request, not silently,
    # and the upstream's stream is closed.
    assert ": open" in lines
    (last,) = [json.loads(line[5:]) for line in lines if line.startswith("data:") and "error" in line]
    assert last["id"] == "call-9"
    assert last["error"]["code"] == -32002
    assert "did not answer within 0.5s" in last["error"]["message"]
    with anyio.fail_after(10):
        await upstream.stream_closed.wait()


async def test_redirects_are_relayed_not_followed() -> None:
    upstream = ScriptedUpstream()
    async with forwarding(upstream) as client:
        response = await client.post("/mcp?case=redirect", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/latest/meta-data/"
    assert len(upstream.seen) == 1


async def test_an_unreachable_upstream_is_a_502_that_says_what_failed_and_not_ready() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    async with forwarding(url=url) as client:
        response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        ready = await client.get("/readyz")
    assert response.status_code == 502
    error = response.json()
    assert error["jsonrpc"] == "2.0"
    assert f"the upstream {url} is unreachable: ConnectError" in error["error"]["message"]
    assert ready.status_code == 503
    assert ready.json()["reachable"] is False


async def test_ready_once_the_upstream_answers_anything_and_health_metrics_guard_remain() -> None:
    async with forwarding(ScriptedUpstream()) as client:
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
        await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Mcp-Method": "ping"})
        metrics = await client.get("/metrics")
        legacy = await client.get("/sse")
        foreign = await client.get("/healthz", headers={"Host": "evil.example"})
    assert ready.status_code == 200
    assert ready.json()["mode"] == "forward"
    assert alive.json() == {"status": "alive"}
    assert 'mcp_bridge_requests_total{era="forward",method="ping",outcome="ok"} 1.0' in metrics.text
    assert legacy.status_code == 404
    assert "forward mode" in legacy.json()["error"]["message"]
    assert foreign.status_code == 403


async def test_cookies_the_upstream_sets_for_one_client_never_reach_another() -> None:
    async def upstream(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        cookie = next((v.decode() for k, v in scope["headers"] if k == b"cookie"), None)
        extra = [(b"set-cookie", b"upstream_session=for-client-a; Path=/")] if scope["query_string"] == b"set" else []
        await send_json(send, 200, {"cookie": cookie}, extra)

    async with forwarding(upstream) as client_a:
        await client_a.post("/mcp?set", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        async with httpx.AsyncClient(base_url=client_a.base_url, timeout=30) as client_b:
            seen = (await client_b.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "ping"})).json()
    assert seen == {"cookie": None}


async def test_the_upstream_sees_the_callers_accept_headers_not_the_forwarders_defaults() -> None:
    upstream = ScriptedUpstream()
    async with forwarding(upstream) as client:
        for name in ("accept", "accept-encoding", "user-agent"):
            del client.headers[name]
        await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        await client.post(
            "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers={"Accept-Encoding": "identity"}
        )
    bare, explicit = upstream.seen
    # An encoding the caller never asked for would reach it still encoded: bodies are relayed as raw bytes.
    assert "accept-encoding" not in bare
    assert "accept" not in bare
    assert explicit["accept-encoding"] == "identity"
