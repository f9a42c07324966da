"""Convergence under faults, on SQLite and PostgreSQL: claims, crashes, dead processes, many adapters at once."""

from __future__ import annotations

import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from mcp_adapters.db.engine import make_engine, migrate, sessions
from mcp_adapters.db.tables import AdapterRow, utcnow
from mcp_adapters.reconciler.queue import Result, WorkQueue
from mcp_adapters.settings import Settings
from mcp_adapters.store import AdapterStore
from mcp_adapters.vault import Vault
from mcp_infra.spec import AdapterSpec
from sqlalchemy import update

from tests.service.conftest import ServiceProcess, adapter_pids, bridge_pids, everything_spec, wait_for


def _store(database_url: str | None, tmp_path: Path) -> AdapterStore:
    engine = make_engine(Settings(database_url=database_url, state_dir=tmp_path).sqlalchemy_url)
    migrate(engine)
    migrate(engine)  # idempotent: a second replica starting finds nothing to do
    return AdapterStore(sessions(engine), Vault.from_settings(None, tmp_path))


def test_claims_are_exclusive_fenced_and_expire(database_url: str | None, tmp_path: Path) -> None:
    store = _store(database_url, tmp_path)
    for i in range(3):
        store.create(AdapterSpec.model_validate(everything_spec(f"a{i}")), "tester")
    one = WorkQueue(store.sessions, "replica-one", lease_seconds=30)
    two = WorkQueue(store.sessions, "replica-two", lease_seconds=30)
    claimed = one.claim(10, set())
    assert sorted(w.row.name for w in claimed) == ["a0", "a1", "a2"]
    assert two.claim(10, set()) == []  # nobody operates on an adapter someone else holds

    # replica-one dies: its leases run out and replica-two takes over.
    with store.sessions.begin() as session:
        session.execute(update(AdapterRow).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    taken = two.claim(10, set())
    assert sorted(w.row.name for w in taken) == ["a0", "a1", "a2"]
    late = Result(
        phase="Ready", conditions=[], ready=1, desired=1, next_attempt_at=utcnow(), attempts=0, observed_generation=1
    )
    assert not one.finish(claimed[0].row, late)  # a stale holder cannot overwrite the new one's work
    assert two.finish(taken[0].row, late)


def test_service_killed_mid_provisioning_converges_after_restart(
    start_service: Any, database_url: str | None, tmp_path: Path
) -> None:
    first: ServiceProcess = start_service(database_url=database_url)
    api = first.api()
    assert api.post("/adapters", json=everything_spec("crash", replicas=2)).status_code == 201
    wait_for(lambda: adapter_pids(first.state_dir), what="the first replica to start")
    first.kill()  # SIGKILL: no cleanup, leases held, processes left running

    second: ServiceProcess = start_service(
        state_dir=first.state_dir, database_url=database_url, MCP_ADAPTERS_LEASE_SECONDS="3"
    )
    api = second.api()
    wait_for(lambda: api.get("/adapters/crash/status").json()["phase"] == "Ready", what="Ready after restart")
    assert len(bridge_pids(second.state_dir)) == 2, "each replica runs once: adopted or restarted, never duplicated"
    assert api.delete("/adapters/crash").status_code == 202
    wait_for(lambda: not adapter_pids(second.state_dir), what="every process to end")


def test_a_killed_adapter_process_comes_back(start_service: Any, database_url: str | None) -> None:
    service: ServiceProcess = start_service(database_url=database_url)
    api = service.api()
    assert api.post("/adapters", json=everything_spec("phoenix")).status_code == 201
    wait_for(lambda: api.get("/adapters/phoenix/status").json()["phase"] == "Ready", what="Ready")
    pid_file = service.state_dir / "local" / "phoenix" / "phoenix-0.pid"
    started = __import__("json").loads(pid_file.read_text())["pid"]
    [victim] = bridge_pids(service.state_dir)
    os.kill(victim, signal.SIGKILL)

    def back() -> bool:
        record = __import__("json").loads(pid_file.read_text())
        return (
            record["pid"] != started
            and bridge_pids(service.state_dir) not in ([], [victim])
            and api.post(
                "/adapters/phoenix/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={
                    "Accept": "application/json, text/event-stream",
                    "Mcp-Method": "ping",
                    "MCP-Protocol-Version": "2026-07-28",
                },
            ).status_code
            < 500
        )

    wait_for(back, what="a new process answering")
    assert "restarting" in api.get("/adapters/phoenix/logs").text


def test_fifty_adapters_created_at_once_all_reach_ready(start_service: Any, database_url: str | None) -> None:
    service: ServiceProcess = start_service(database_url=database_url, MCP_ADAPTERS_RECONCILE_CONCURRENCY="16")

    def create(i: int) -> int:
        with httpx.Client(base_url=service.url, timeout=60, trust_env=False) as api:
            return api.post("/adapters", json=everything_spec(f"many-{i}")).status_code

    with ThreadPoolExecutor(max_workers=25) as pool:
        assert set(pool.map(create, range(50))) == {201}
    api = service.api()

    def all_ready() -> bool:
        return all(a["status"]["phase"] == "Ready" for a in api.get("/adapters").json())

    wait_for(all_ready, deadline=240, what="50 adapters to be Ready")
    for i in range(50):
        api.delete(f"/adapters/many-{i}")
    wait_for(lambda: api.get("/adapters").json() == [], deadline=120, what="all deleted")
    wait_for(lambda: not adapter_pids(service.state_dir), deadline=60, what="no process left")


def _rechecks(service: ServiceProcess) -> float:
    metrics = httpx.get(f"{service.url}/metrics", timeout=5).text
    found = re.search(r"^mcp_adapters_permanent_refusals_rechecked_total ([0-9.e+]+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_a_permanent_refusal_is_retried_only_when_the_platform_changes(start_service: Any, tmp_path: Path) -> None:
    fast = {"MCP_ADAPTERS_RESYNC_SECONDS": "0.2"}
    service: ServiceProcess = start_service(**fast)
    api = service.api()
    assert api.post("/adapters", json=everything_spec("needs-wi", useWorkloadIdentity=True)).status_code == 201

    def reasons() -> set[str]:
        return {c["reason"] for c in api.get("/adapters/needs-wi/status").json()["conditions"]}

    wait_for(lambda: "WorkloadIdentityUnavailable" in reasons(), what="the local target's refusal")

    # Many resyncs later, still the one operation that was refused: no record, no delete per resync.
    def operations() -> int:
        return len(api.get("/adapters/needs-wi/operations").json())

    wait_for(lambda: _rechecks(service) >= 10 or operations() > 1, what="ten resyncs of the refused adapter")
    assert operations() == 1

    # The platform changes (this machine now has workload identity): the next resync applies it.
    service.stop()
    token = tmp_path / "token"
    token.write_text("federated-token")
    identity = {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_FEDERATED_TOKEN_FILE": str(token)}
    restarted: ServiceProcess = start_service(state_dir=service.state_dir, **fast, **identity)
    api = restarted.api()
    wait_for(lambda: api.get("/adapters/needs-wi/status").json()["phase"] == "Ready", what="Ready once supported")
    assert [op["outcome"] for op in api.get("/adapters/needs-wi/operations").json()] == ["succeeded", "failed"]


def test_each_adapter_keeps_its_newest_operations_only(make_client: Any, database_url: str | None) -> None:
    api = make_client(database_url=database_url, operation_history=3)
    assert api.post("/adapters", json=everything_spec("busy")).status_code == 201
    for generation in range(2, 7):  # each change of the spec is a new generation, applied by a new operation
        spec = everything_spec("busy", description=f"change {generation}")
        assert api.put("/adapters/busy", json=spec).status_code == 200
        wait_for(
            lambda g=generation: [op["generation"] for op in api.get("/adapters/busy/operations").json()][:1] == [g],
            what=f"the operation of generation {generation}",
        )
    kept = [op["generation"] for op in api.get("/adapters/busy/operations").json()]
    assert kept == [6, 5, 4]
