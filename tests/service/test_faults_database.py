"""PostgreSQL crashing, staying away for 10 s and coming back while adapters are being created.

Meanwhile: every API request gets 503 with Retry-After and a problem that says the database is away (never a
500), `/readyz` says why, MCP calls to an adapter already running go on, and the reconciler waits. Afterwards
every adapter a client was told was accepted (or sent again after a 503) converges, and nothing was lost.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.postgres import Cluster, PostgresMissing
from tests.service.conftest import wait_for
from tests.service.test_faults_crash import light_spec

OUTAGE_SECONDS = 10.0
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class McpSession:
    """One handshake-era session through the service's data plane, as a client keeps it (the minimal server
    speaks 2025)."""

    def __init__(self, api: httpx.Client, adapter: str) -> None:
        self.api, self.url = api, f"/adapters/{adapter}/mcp"
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        opened = api.post(self.url, json=init, headers=ACCEPT)
        assert opened.status_code == 200, opened.text
        self.headers = {"Mcp-Session-Id": opened.headers["mcp-session-id"], **ACCEPT}

    def add(self, a: int, b: int) -> int:
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": a, "b": b}},
        }
        answer = self.api.post(self.url, json=call, headers=self.headers)
        assert answer.status_code == 200, answer.text
        body = answer.text
        if body.startswith(("event:", "data:")):
            body = next(line[5:] for line in body.splitlines() if line.startswith("data:"))
        return int(json.loads(body)["result"]["content"][0]["text"])

    def close(self) -> None:
        self.api.delete(self.url, headers=self.headers)


def call_add(api: httpx.Client, adapter: str) -> int:
    """2 + 3 in a session of its own, closed afterwards."""
    session = McpSession(api, adapter)
    try:
        return session.add(2, 3)
    finally:
        session.close()


def refused_for_the_database(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "database" in response.json()["detail"], response.text


def ready(api: httpx.Client, name: str) -> bool:
    response = api.get(f"/adapters/{name}")
    return response.status_code == 200 and response.json()["status"]["phase"] == "Ready"


@pytest.mark.postgres
def test_postgresql_away_for_10_seconds_loses_nothing(start_service: Any) -> None:
    try:
        cluster = Cluster()
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    try:
        service = start_service(database_url=cluster.create_database("outage"))
        api = service.api()
        assert api.post("/adapters", json=light_spec("steady", 1, 1)).status_code == 201
        wait_for(lambda: ready(api, "steady"), what="steady to be Ready")
        assert call_add(api, "steady") == 5
        accepted = []
        for index in range(2):
            assert api.post("/adapters", json=light_spec(f"before-{index}", 1, 1)).status_code == 201
            accepted.append(f"before-{index}")

        cluster.stop("immediate")  # a crash: no shutdown checkpoint, recovery at the next start
        outage_began = time.monotonic()
        refused = []
        while time.monotonic() - outage_began < OUTAGE_SECONDS:  # a bounded loop: the outage is the condition
            name = f"during-{len(refused)}"
            refused_for_the_database(api.post("/adapters", json=light_spec(name, 1, 1)))
            refused.append(name)
            refused_for_the_database(api.get("/adapters"))
            refused_for_the_database(api.get("/readyz"))
            assert call_add(api, "steady") == 5  # the data plane goes on with what it last read
            time.sleep(1.0)  # a client pacing its retries, as Retry-After asks
        assert len(refused) >= 5

        cluster.start()
        wait_for(lambda: api.get("/readyz").status_code == 200, what="/readyz once the database is back")
        for name in refused:  # the client sends again what was refused
            assert api.post("/adapters", json=light_spec(name, 1, 1)).status_code == 201
            accepted.append(name)
        for name in ["steady", *accepted]:
            wait_for(lambda name=name: ready(api, name), 120, f"{name} to be Ready")
        assert call_add(api, "steady") == 5
        for name in accepted:
            operations = api.get(f"/adapters/{name}/operations").json()
            assert operations, name
            assert all(op["outcome"] == "succeeded" for op in operations), operations

        log = service.log()
        assert " 500 " not in log
        assert "Traceback" not in log  # an outage is expected weather, not a crash
        assert log.count("the reconciler waits and retries") >= 1
    finally:
        cluster.destroy()
