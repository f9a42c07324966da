"""A user's first minutes, for real: the service process, an adapter bridging the test server, MCP through it."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from tests.service.conftest import ServiceProcess, adapter_pids, everything_spec, wait_for

pytestmark = pytest.mark.anyio
SECRET = "s3cr3t-value-never-shown"


def text(result: Any) -> str:
    assert not result.is_error, result
    return str(result.content[0].text)


def wait_phase(api: httpx.Client, name: str, phase: str = "Ready", generation: int | None = None) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        status: dict[str, Any] = api.get(f"/adapters/{name}/status").json()
        done = status["phase"] == phase and (generation is None or status["observedGeneration"] == generation)
        return status if done else None

    return wait_for(reached, what=f"{name} to be {phase}")  # type: ignore[no-any-return]


async def env_of(url: str, name: str, mode: str = "legacy") -> Any:
    async with Client(url, mode=mode) as client:
        return json.loads(text(await client.call_tool("env", {"name": name})))["value"]


async def test_create_call_update_observe_delete(start_service: Any) -> None:
    service: ServiceProcess = start_service()
    api = service.api()
    spec = everything_spec("e2e", replicas=2)
    spec["environmentVariables"] |= {"API_TOKEN": SECRET, "GREETING": "hello"}

    created = api.post("/adapters", json=spec)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/adapters/e2e"
    assert created.json()["environmentVariables"]["API_TOKEN"] == "<redacted>"
    status = wait_phase(api, "e2e")
    assert status["replicas"] == {"desired": 2, "ready": 2}
    assert status["lastOperation"]["outcome"] == "succeeded"

    url = f"{service.url}/adapters/e2e/mcp"
    async with Client(url, mode="legacy") as client:
        assert {"echo", "add"} <= {tool.name for tool in (await client.list_tools()).tools}
        assert text(await client.call_tool("echo", {"message": "through the control plane"})) == (
            "through the control plane"
        )
    # The secret reaches the server in the clear, and nothing else.
    assert await env_of(url, "API_TOKEN") == SECRET
    assert await env_of(url, "GREETING", mode="2026-07-28") == "hello"
    assert SECRET not in api.get("/adapters/e2e").text
    for stored in service.state_dir.glob("state.db*"):  # the database and its write-ahead log
        assert SECRET.encode() not in stored.read_bytes()

    # Update: generation moves, the replicas are replaced, the new environment is live.
    spec["environmentVariables"]["GREETING"] = "changed"
    spec["environmentVariables"]["API_TOKEN"] = "<redacted>"  # sending back what GET shows keeps the secret
    updated = api.put("/adapters/e2e", json=spec)
    assert updated.status_code == 200, updated.text
    assert updated.json()["generation"] == 2
    wait_phase(api, "e2e", generation=2)
    assert await env_of(url, "GREETING") == "changed"
    assert await env_of(url, "API_TOKEN") == SECRET
    assert api.put("/adapters/e2e", json=spec).json()["generation"] == 2  # unchanged spec, same generation

    # What the server prints is in the replica's logs.
    async with Client(url, mode="legacy") as client:
        await client.call_tool("stderr", {"message": "marker-for-the-logs"})
    wait_for(
        lambda: any("marker-for-the-logs" in api.get(f"/adapters/e2e/logs?instance={i}").text for i in (0, 1)),
        what="the marker in the logs",
    )

    # A session id no replica owns gets 404 with a JSON-RPC body, so clients start over.
    lost = api.post(
        "/adapters/e2e/mcp",
        headers={
            "Mcp-Session-Id": "e2e-7.0123456789abcdef0123456789abcdef",
            "Accept": "application/json, text/event-stream",
        },
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    assert lost.status_code == 404
    assert lost.json()["error"]["code"] == -32001

    assert SECRET not in service.log()
    assert api.delete("/adapters/e2e").status_code == 202
    wait_for(lambda: api.get("/adapters/e2e").status_code == 404, what="the adapter to be gone")
    wait_for(lambda: not adapter_pids(service.state_dir), what="every adapter process to end")


async def test_sessions_stay_on_their_replica_and_sse_streams_live(start_service: Any) -> None:
    service: ServiceProcess = start_service()
    api = service.api()
    assert api.post("/adapters", json=everything_spec("sticky", replicas=3)).status_code == 201
    wait_phase(api, "sticky")
    url = f"{service.url}/adapters/sticky/mcp"
    pids = set()
    notes: list[Any] = []

    async def on_log(params: Any) -> None:
        notes.append(params.data)

    async with Client(url, mode="legacy", logging_callback=on_log) as client:
        for _ in range(6):  # every call of one session lands on the same server process
            seen = json.loads(text(await client.call_tool("env", {"name": "HOME"})))
            pids.add((seen["value"], seen["pid"]))  # each replica has its own HOME; pids repeat across sandboxes
        await client.call_tool("log", {"message": "streamed back"})
    assert len(pids) == 1
    assert notes == ["streamed back"]

    async def one() -> str:
        async with Client(url, mode="2026-07-28") as client:
            return str(json.loads(text(await client.call_tool("env", {"name": "HOME"})))["value"])

    spread: set[str] = set()
    for _ in range(6):
        spread.add(await one())
    assert len(spread) > 1, "stateless requests should spread over the replicas"
    await anyio.sleep(0)
