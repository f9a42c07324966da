"""The service killed (SIGKILL) at random points of a burst of creates, updates and deletes, then started again.

Each trial is seeded (the seed is the test's id): a random sequence of operations on a few adapters is sent, each
adapter's operations in order and the adapters side by side, and the service is killed after a random delay,
whatever it is doing (answering, writing, starting or stopping replicas). What a client would do next is then
done: the operations that got no answer are sent again, then the rest. After the restart every adapter must
converge to the last spec it was given, deleted adapters must be gone, exactly one bridge must run per replica
(none left over from before the kill, none started twice), and no adapter's operations may have run at the same
time or be left "running".
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.service.conftest import ServiceProcess, bridge_pids, wait_for

MINIMAL_SERVER = ROOT / "bench" / "minimal_server.py"
# Ten trials in the suite; `bench/fault_soak.py` runs more by setting this ("FIRST-LAST", both included).
FIRST_SEED, LAST_SEED = (int(n) for n in os.environ.get("MCP_ADAPTERS_CRASH_SEEDS", "0-9").split("-"))
NAMES = [f"crash-{i}" for i in range(5)]
OPERATIONS = 30
CONVERGE_SECONDS = 120.0


def light_spec(name: str, generation: int, replicas: int) -> dict[str, Any]:
    """An adapter whose server costs next to nothing to start (the bridge is what is exercised)."""
    env = {"MCP_COMMAND": sys.executable, "MCP_ARGS": str(MINIMAL_SERVER), "SPEC_GENERATION": str(generation)}
    return {
        "name": name,
        "imageName": "mcp-proxy",
        "imageVersion": "1",
        "replicaCount": replicas,
        "environmentVariables": env,
    }


@dataclass
class Step:
    kind: str  # "create", "replace" or "delete"
    name: str
    spec: dict[str, Any] | None = None


@dataclass
class Plan:
    """The operations, per adapter in order, and what each adapter should be in the end."""

    steps: dict[str, list[Step]] = field(default_factory=dict)
    final: dict[str, dict[str, Any] | None] = field(default_factory=dict)


def plan(seed: int) -> Plan:
    rng = random.Random(seed)
    result = Plan(steps={name: [] for name in NAMES}, final=dict.fromkeys(NAMES))
    generation = itertools.count(1)
    for _ in range(OPERATIONS):
        name = rng.choice(NAMES)
        current = result.final[name]
        if current is None:
            step = Step("create", name, light_spec(name, next(generation), rng.choice([1, 1, 2])))
        elif rng.random() < 0.7:
            step = Step("replace", name, light_spec(name, next(generation), rng.choice([1, 1, 2])))
        else:
            step = Step("delete", name)
        result.steps[name].append(step)
        result.final[name] = step.spec
    return result


def send(api: httpx.Client, step: Step) -> None:
    """One step as a careful client sends it: safe to send again when its first answer never came."""
    deadline = time.monotonic() + CONVERGE_SECONDS
    while True:
        if step.kind == "delete":
            response = api.delete(f"/adapters/{step.name}")
            assert response.status_code in (202, 404), response.text
            return
        if step.kind == "create":
            response = api.post("/adapters", json=step.spec)
            if response.status_code == 201:
                return
        else:
            response = api.put(f"/adapters/{step.name}", json=step.spec)
            if response.status_code == 200:
                return
        # A create that was done before the kill, though its answer was lost: make it the spec it meant.
        if response.status_code == 409 and "already exists" in response.text:
            response = api.put(f"/adapters/{step.name}", json=step.spec)
            assert response.status_code == 200, response.text
            return
        # The delete before it is still being carried out: wait for it, as the 409 asks.
        assert response.status_code == 409, response.text
        assert "being deleted" in response.text, response.text
        assert time.monotonic() < deadline, f"{step.name} was still being deleted after {CONVERGE_SECONDS}s"
        wait_for(lambda: api.get(f"/adapters/{step.name}").status_code == 404, what=f"{step.name} to be deleted")


def run_until_killed(service: ServiceProcess, steps: dict[str, list[Step]], kill_after: float) -> dict[str, int]:
    """Send every adapter's steps (adapters side by side) and kill the service after `kill_after` seconds;
    how many steps of each adapter were answered."""
    done = dict.fromkeys(steps, 0)

    def worker(name: str) -> None:
        with service.api() as api:
            for step in steps[name]:
                try:
                    send(api, step)
                except (httpx.HTTPError, AssertionError):
                    return  # killed under it (or answered by a dying process): sent again after the restart
                done[name] += 1

    threads = [threading.Thread(target=worker, args=(name,)) for name in steps]
    for thread in threads:
        thread.start()
    killer = threading.Timer(kill_after, service.kill)
    killer.start()
    for thread in threads:
        thread.join(timeout=CONVERGE_SECONDS)
    killer.join()
    return done


def converged(api: httpx.Client, state: Path, final: dict[str, dict[str, Any] | None]) -> bool:
    for name, spec in final.items():
        response = api.get(f"/adapters/{name}")
        if spec is None:
            if response.status_code != 404:
                return False
            continue
        if response.status_code != 200:
            return False
        adapter = response.json()
        status = adapter["status"]
        if (
            adapter["environmentVariables"] != spec["environmentVariables"]
            or adapter["replicaCount"] != spec["replicaCount"]
        ):
            return False
        if status["phase"] != "Ready" or status["observedGeneration"] != adapter["generation"]:
            return False
    return _bridges(state) == _expected_bridges(final)


def _bridges(state: Path) -> list[tuple[str, str]]:
    """(replica id, SPEC_GENERATION) of every bridge that runs for this state dir, sorted: duplicates show."""
    found = []
    for pid in bridge_pids(state):
        try:
            environ = dict(
                item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item
            )
        except OSError:
            continue  # exited as we looked
        found.append((environ.get("MCP_BRIDGE_REPLICA_ID", "?"), environ.get("SPEC_GENERATION", "?")))
    return sorted(found)


def _expected_bridges(final: dict[str, dict[str, Any] | None]) -> list[tuple[str, str]]:
    return sorted(
        (f"{name}-{index}", spec["environmentVariables"]["SPEC_GENERATION"])
        for name, spec in final.items()
        if spec is not None
        for index in range(spec["replicaCount"])
    )


@pytest.mark.parametrize("seed", range(FIRST_SEED, LAST_SEED + 1), ids=lambda seed: f"seed={seed}")
def test_a_service_killed_at_a_random_point_converges_after_a_restart(
    start_service: Any, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    trial = plan(seed)
    kill_after = rng.uniform(0.05, 3.0)
    state = tmp_path / "state"
    service = start_service(state_dir=state, MCP_ADAPTERS_LOCAL_STOP_GRACE_SECONDS="2")
    answered = run_until_killed(service, trial.steps, kill_after)

    again = start_service(state_dir=state, MCP_ADAPTERS_LOCAL_STOP_GRACE_SECONDS="2")
    remaining = {name: steps[answered[name] :] for name, steps in trial.steps.items()}
    with again.api() as api:
        for steps in remaining.values():  # adapters one after another now: the order within each is kept
            for step in steps:
                send(api, step)
        wait_for(
            lambda: converged(api, state, trial.final),
            CONVERGE_SECONDS,
            f"seed {seed} (killed after {kill_after:.2f}s, answered {answered}) to converge; bridges "
            f"{_bridges(state)}, expected {_expected_bridges(trial.final)}",
        )
        for name, spec in trial.final.items():
            if spec is None:
                continue
            operations = api.get(f"/adapters/{name}/operations").json()
            assert all(op["outcome"] != "running" for op in operations), (seed, name, operations)
            spans = sorted((op["startedAt"], op["finishedAt"]) for op in operations)
            for (_, ended), (began, _) in itertools.pairwise(spans):
                assert began >= ended, f"seed {seed}: two operations of {name} overlapped: {spans}"
