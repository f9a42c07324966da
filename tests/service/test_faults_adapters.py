"""Adapters whose servers misbehave: one crash-loops, one never answers, one floods stderr with 100 MB.

The service and a well-behaved adapter next to them stay healthy (tool calls keep working), each bad adapter's
status says what is wrong, and the flooding replica's log stays within its bound on disk.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT
from tests.service.conftest import wait_for
from tests.service.test_faults_crash import light_spec
from tests.service.test_faults_database import McpSession, call_add, ready

FAULTY = ROOT / "tests" / "servers" / "faulty.py"
LOG_MAX_BYTES = 1 << 20
READY_TIMEOUT = 8
FLOOD_MEGABYTES = 100


def faulty_spec(name: str, *args: str) -> dict[str, Any]:
    env = {"MCP_COMMAND": sys.executable, "MCP_ARGS": " ".join([str(FAULTY), *args])}
    return {"name": name, "imageName": "mcp-proxy", "imageVersion": "1", "environmentVariables": env}


def log_bytes(log: Path) -> int:
    """What a replica's log and its rotated part hold on disk."""
    return sum(part.stat().st_size for part in log.parent.glob(log.name + "*"))


def status(api: httpx.Client, name: str) -> dict[str, Any]:
    result: dict[str, Any] = api.get(f"/adapters/{name}").json()["status"]
    return result


def failed_saying(api: httpx.Client, name: str, *words: str) -> bool:
    current = status(api, name)
    ready_condition = next((c for c in current["conditions"] if c["type"] == "Ready"), {})
    message = ready_condition.get("message", "")
    return current["phase"] == "Failed" and all(word in message for word in words)


def test_misbehaving_servers_leave_the_service_and_their_neighbours_healthy(start_service: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    service = start_service(
        state_dir=state,
        MCP_ADAPTERS_LOG_MAX_BYTES=str(LOG_MAX_BYTES),
        MCP_ADAPTERS_LOCAL_READY_TIMEOUT=str(READY_TIMEOUT),
    )
    api = service.api()
    assert api.post("/adapters", json=light_spec("good", 1, 1)).status_code == 201
    wait_for(lambda: ready(api, "good"), what="good to be Ready")

    for spec in (
        faulty_spec("crasher", "crash", "7"),
        faulty_spec("silent", "silent"),
        faulty_spec("flood", "flood", str(FLOOD_MEGABYTES)),
    ):
        assert api.post("/adapters", json=spec).status_code == 201

    flood_log = state / "local" / "flood" / "flood-0.log"
    calls, peak = 0, 0
    good = McpSession(api, "good")  # one session, as a client keeps it
    while not ready(api, "flood"):  # it floods before it reads its first request: Ready means the flood is over
        assert good.add(2, 3) == 5  # the neighbour keeps answering all along
        calls += 1
        assert calls < 2000, "the flood never ended"
        peak = max(peak, log_bytes(flood_log))
    assert call_add(api, "flood") == 5
    # The bridge logs a flood's first lines and then a count of what it dropped; the supervisor cuts whatever a
    # replica writes down to LOG_MAX_BYTES, give or take what it writes between two measures (2 s).
    assert "lines dropped" in api.get("/adapters/flood/logs", params={"tail": 200}).text
    assert peak < 2 * LOG_MAX_BYTES + 32 * (1 << 20), peak
    wait_for(lambda: log_bytes(flood_log) <= 2 * LOG_MAX_BYTES, 10, "the flood's log to be within its bound")

    # The crash-looping and the silent adapter fail, each saying why, once the ready timeout has passed.
    wait_for(lambda: failed_saying(api, "crasher", "did not start", "exited"), 60, "crasher's status to say why")
    wait_for(lambda: failed_saying(api, "silent", "did not start", "did not answer"), 90, "silent's status to say why")

    assert ready(api, "good")
    assert call_add(api, "good") == 5
    assert api.get("/readyz").status_code == 200
    assert " 500 " not in service.log()
