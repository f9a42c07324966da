"""The service with the kubernetes target end to end: REST in, Pulumi stacks (the CLI double) and readiness out."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from mcp_adapters.api.main import create_app
from mcp_adapters.runtime import Runtime

from tests.service.targets.kubernetes.conftest import NS, PROJECT, Harness, spec

pytestmark = pytest.mark.anyio


async def eventually(check: Callable[[], Any], deadline: float = 30.0, what: str = "condition") -> Any:
    end = time.monotonic() + deadline
    last: Any = None
    while time.monotonic() < end:
        last = await check()
        if last:
            return last
        await anyio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


async def test_post_to_ready_to_delete_through_the_api(make_harness: Any) -> None:
    harness: Harness = await make_harness(poll_seconds=0.1, resync_seconds=0.5, retry_initial_seconds=0.1)
    runtime = Runtime.build(harness.settings, target=harness.target)
    app = create_app(harness.settings, runtime)
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as api:
            assert (await api.get("/readyz")).json()["target"] == "kubernetes"
            body = spec("github", GITHUB_TOKEN="ghp_secret").to_json()

            preview = (await api.post("/adapters", json=body, params={"dryRun": "true"})).json()
            assert preview["target"] == "kubernetes"
            assert preview["changeSummary"]["create"] >= 5
            assert preview["allowed"] is True
            assert harness.cli.stacks(PROJECT, root=harness.backend) == []

            assert (await api.post("/adapters", json=body)).status_code == 201

            async def status() -> dict[str, Any]:
                return dict((await api.get("/adapters/github/status")).json())

            async def provisioning() -> Any:
                current = await status()
                operation = current.get("lastOperation") or {}
                return current["phase"] == "Provisioning" and operation.get("resourceChanges") and current

            waiting = await eventually(provisioning, what="the up to finish")
            assert waiting["lastOperation"]["resourceChanges"]["create"] >= 5
            assert "does not exist" in {c["type"]: c for c in waiting["conditions"]}["Ready"]["message"]

            engine_log = (await api.get("/adapters/github/logs", params={"source": "operation"})).text
            assert "create kubernetes:apps/v1:StatefulSet github" in engine_log
            assert "up finished in" in engine_log
            assert "ghp_secret" not in engine_log

            harness.roll_out(ready=True)

            async def ready() -> Any:
                return (await status())["phase"] == "Ready"

            await eventually(ready, what="Ready")
            harness.cluster.write_log(NS, "github-0", "listening on :8000")
            logs = await api.get("/adapters/github/logs", params={"instance": 0, "tail": 5})
            assert logs.text == "listening on :8000\n"

            assert (await api.post("/adapters/github/refresh")).status_code == 202

            async def refreshed() -> bool:
                return "refresh" in harness.cli.commands()

            await eventually(refreshed, what="the refresh")

            assert (await api.delete("/adapters/github")).status_code == 202

            async def gone() -> bool:
                return (await api.get("/adapters/github")).status_code == 404

            await eventually(gone, what="the adapter to be deleted")
            assert harness.cli.stacks(PROJECT, root=harness.backend) == []
    finally:
        await runtime.stop()


async def test_an_engine_error_turns_the_adapter_failed_with_its_message(make_harness: Any) -> None:
    harness: Harness = await make_harness(poll_seconds=0.1, retry_initial_seconds=30)
    runtime = Runtime.build(harness.settings, target=harness.target)
    app = create_app(harness.settings, runtime)
    harness.cli.fail_next("up", 'namespaces "mcp-adapters" not found')
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as api:
            assert (await api.post("/adapters", json=spec("github").to_json())).status_code == 201

            async def failed() -> Any:
                current = (await api.get("/adapters/github/status")).json()
                return current["phase"] == "Failed" and current

            current = await eventually(failed, what="Failed")
            reconciled = {c["type"]: c for c in current["conditions"]}["Reconciled"]
            assert reconciled["reason"] == "PulumiFailed"
            assert 'namespaces "mcp-adapters" not found' in reconciled["message"]
            assert current["lastOperation"]["outcome"] == "failed"
    finally:
        await runtime.stop()


async def test_readyz_fails_with_the_install_hint_when_the_cli_is_missing(make_harness: Any, tmp_path: Any) -> None:
    from mcp_adapters.targets.kubernetes import KubernetesTarget

    harness: Harness = await make_harness()
    (tmp_path / "empty" / "bin").mkdir(parents=True)
    settings = harness.settings.model_copy(update={"pulumi_cli_root": tmp_path / "empty"})
    runtime = Runtime.build(settings, target=KubernetesTarget(settings))
    app = create_app(settings, runtime)
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as api:
            answer = await api.get("/readyz")
            assert answer.status_code == 503
            assert "get.pulumi.com" in answer.json()["detail"]
            preview = await api.post("/adapters", json=spec("github").to_json(), params={"dryRun": "true"})
            assert preview.status_code == 503
            assert "get.pulumi.com" in preview.json()["detail"]
    finally:
        await runtime.stop()


async def _held_runtime(harness: Harness) -> tuple[Runtime, Any]:
    runtime = Runtime.build(harness.settings, target=harness.target)
    app = create_app(harness.settings, runtime)
    gate = harness.hold("up")
    await runtime.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as api:
        assert (await api.post("/adapters", json=spec("github").to_json())).status_code == 201
    await anyio.to_thread.run_sync(gate.wait_started)
    return runtime, gate


async def test_sigterm_lets_a_running_update_finish_within_the_grace(make_harness: Any) -> None:
    harness: Harness = await make_harness(poll_seconds=0.1, shutdown_grace_seconds=60)
    runtime, gate = await _held_runtime(harness)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(runtime.stop)
        # Not synchronisation: a window in which a wrong stop() would interrupt the update.
        await anyio.sleep(0.3)
        assert harness.signals == []
        gate.release()
    assert gate.outcome == "release"
    assert harness.cli.history(PROJECT, "github", root=harness.backend)[-1]["result"] == "succeeded"


async def test_sigterm_interrupts_an_update_that_outlives_the_grace(make_harness: Any) -> None:
    harness: Harness = await make_harness(poll_seconds=0.1, shutdown_grace_seconds=0.2)
    runtime, gate = await _held_runtime(harness)
    with anyio.fail_after(30):
        await runtime.stop()
    assert harness.signals == [("github", signal.SIGINT)]
    assert gate.outcome == "interrupt"
    assert harness.cli.locks(PROJECT, "github", root=harness.backend) == []
