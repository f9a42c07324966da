"""The kubernetes target through the Pulumi CLI double: what each operation deploys, removes and reports.

The tests look where a user or an operator would: the stacks and their resources in the backend, a stack's history
(`pulumi stack history`), its settings file, its locks, the operation log, and the target's status and errors."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
from collections.abc import Callable
from typing import Any

import anyio
import mcp_adapters.targets.kubernetes as kubernetes_target
import pytest
from mcp_adapters.targets.base import TargetError

from tests.service.targets.kubernetes.conftest import NS, PROJECT, Harness, Log, spec

pytestmark = pytest.mark.anyio


def history(harness: Harness, stack: str = "github") -> list[tuple[str, str]]:
    """The stack's operations as `pulumi stack history` lists them, newest first: (kind, result)."""
    return [(h["kind"], h["result"]) for h in harness.cli.history(PROJECT, stack, root=harness.backend)]


def stack_settings(harness: Harness, stack: str = "github") -> str:
    """The stack's settings file (its config), in the stack's work directory under the state directory."""
    return (harness.settings.state_dir / "pulumi" / "workspaces" / stack / f"Pulumi.{stack}.yaml").read_text()


async def stays_false(condition: Callable[[], bool], window: float = 1.0) -> bool:
    """Whether `condition` stays false for `window` seconds, checked every 10 ms (a bounded watch, not a sleep)."""
    with anyio.move_on_after(window):
        while not condition():
            await asyncio.sleep(0.01)
    return not condition()


async def test_create_makes_the_stack_with_its_config_and_deploys_the_component(make_harness: Any) -> None:
    # That the real engine does the same is test_real_engine.py's part.
    harness: Harness = await make_harness()
    log = Log()
    await harness.target.apply(spec("github"), log)

    assert harness.cli.stacks(PROJECT, root=harness.backend) == ["github"]
    assert history(harness) == [("update", "succeeded")]
    settings = stack_settings(harness)
    assert "azure-native:location: westeurope" in settings
    assert f"kubernetes:kubeconfig: {harness.settings.kubeconfig.resolve()}" in settings
    # Its secrets are sealed with a passphrase the service generated, kept private in the state directory.
    assert "encryptionsalt:" in settings
    passphrase = harness.settings.state_dir.resolve() / "pulumi" / "passphrase"
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600

    resources = harness.cli.resources(PROJECT, "github", root=harness.backend)
    types = {r["type"] for r in resources}
    assert {"mcp-adapters:index:McpAdapter", "kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:Service"} <= types
    # Every resource of the stack but the default providers, which the engine does not count.
    assert log.changes[-1]["create"] == len([r for r in resources if not r["type"].startswith("pulumi:providers:")])
    assert "create kubernetes:apps/v1:StatefulSet github" in log.text()


async def test_readiness_comes_from_the_statefulset_and_names_what_waits(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github", replicas=2), Log())
    status = await harness.target.status("github")
    assert (status.desired, status.ready) == (0, 0)
    assert "does not exist" in status.message

    harness.roll_out(ready=False)
    status = await harness.target.status("github")
    assert (status.desired, status.ready) == (2, 0)
    assert status.message.startswith("github-0: container proxy running, readiness probe failing")

    harness.roll_out(ready=True)
    status = await harness.target.status("github")
    assert (status.desired, status.ready) == (2, 2)
    assert [e.url for e in harness.target.endpoints("github")] == [
        f"http://github-{i}.github-peers.{NS}.svc.cluster.local:8000" for i in range(2)
    ]


async def test_an_unchanged_adapter_is_left_alone_and_a_change_is_deployed(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    settings = stack_settings(harness)
    log = Log()
    await harness.target.apply(spec("github"), log)
    assert history(harness) == [("update", "succeeded")]
    assert log.lines == []

    log = Log()
    await harness.target.apply(spec("github", replicas=3), log)
    assert history(harness) == [("update", "succeeded")] * 2
    assert stack_settings(harness) == settings  # the stack's config did not change
    assert log.changes[-1].get("update", 0) >= 1
    assert "update kubernetes:apps/v1:StatefulSet github" in log.text()
    (statefulset,) = [
        r
        for r in harness.cli.resources(PROJECT, "github", root=harness.backend)
        if r["type"] == "kubernetes:apps/v1:StatefulSet"
    ]
    assert statefulset["inputs"]["spec"]["replicas"] == 3


async def test_a_setting_unset_since_the_last_apply_leaves_the_stacks_config(make_harness: Any) -> None:
    staging: Harness = await make_harness(kube_context="staging")
    await staging.target.apply(spec("github"), Log())
    stack_file = staging.settings.state_dir / "pulumi" / "workspaces" / "github" / "Pulumi.github.yaml"
    assert "kubernetes:context: staging" in stack_file.read_text()

    default: Harness = await make_harness(cli=staging.cli)  # the same state, KUBE_CONTEXT no longer set
    await default.target.apply(spec("github"), Log())
    assert "kubernetes:context" not in stack_file.read_text()
    assert "azure-native:location: westeurope" in stack_file.read_text()


async def test_a_secret_value_change_is_a_change(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github", GITHUB_TOKEN="one"), Log())
    await harness.target.apply(spec("github", GITHUB_TOKEN="two"), Log())
    assert history(harness) == [("update", "succeeded")] * 2
    marker = (harness.settings.state_dir / "pulumi" / "workspaces" / "github" / "applied.json").read_text()
    assert "two" not in marker
    assert "one" not in marker


async def test_delete_destroys_and_removes_the_stack(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    log = Log()
    await harness.target.delete("github", log)
    assert log.changes[-1]["delete"] >= 5  # what it deployed is destroyed
    assert "stack github removed" in log.text()
    assert harness.cli.stacks(PROJECT, root=harness.backend) == []
    assert not (harness.settings.state_dir / "pulumi" / "workspaces" / "github").exists()


async def test_deleting_an_adapter_that_never_got_a_stack_destroys_nothing(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    log = Log()
    await harness.target.delete("never", log)
    assert "does not exist: nothing to destroy" in log.text()
    assert log.changes == []
    assert harness.cli.stacks(PROJECT, root=harness.backend) == []


async def test_preview_of_a_new_adapter_plans_and_leaves_no_stack(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    preview = await harness.target.preview(spec("github"))
    assert harness.cli.stacks(PROJECT, root=harness.backend) == []
    assert preview.change_summary is not None
    assert preview.change_summary["create"] >= 5
    assert {r.op for r in preview.resources} == {"create"}
    assert "kubernetes:networking.k8s.io/v1:Ingress" in {r.type for r in preview.resources}


async def test_preview_of_a_change_shows_the_update_and_changes_nothing(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    before = harness.cli.resources(PROJECT, "github", root=harness.backend)
    preview = await harness.target.preview(spec("github", replicas=2))
    ops = {r.name: r.op for r in preview.resources if r.type == "kubernetes:apps/v1:StatefulSet"}
    assert ops == {"github": "update"}
    assert harness.cli.resources(PROJECT, "github", root=harness.backend) == before
    assert history(harness) == [("update", "succeeded")]  # a preview is no operation on the stack


async def test_an_engine_error_fails_with_the_engines_message(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    message = 'admission webhook "validate.nginx.ingress.kubernetes.io" denied the request: host already defined'
    harness.cli.fail_next("up", message)
    log = Log()
    with pytest.raises(TargetError) as raised:
        await harness.target.apply(spec("github"), log)
    assert raised.value.reason == "PulumiFailed"
    assert message in raised.value.message
    # Failed, so the next pass tries again even though nothing changed.
    await harness.target.apply(spec("github"), Log())
    assert history(harness) == [("update", "succeeded"), ("update", "failed")]


async def test_a_concurrent_update_waits_and_retries(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    harness.cli.conflict_next("up", times=2)
    log = Log()
    await harness.target.apply(spec("github"), log)
    assert log.text().count("is busy (a lock held by deployer@ci-runner-7") == 2
    assert history(harness) == [("update", "succeeded")]
    assert harness.cli.locks(PROJECT, "github", root=harness.backend) == []


async def test_a_stack_locked_by_a_live_process_through_every_retry_is_left_alone(make_harness: Any) -> None:
    harness: Harness = await make_harness(pulumi_conflict_retries=1)
    harness.cli.conflict_next("up", times=5)
    with pytest.raises(TargetError) as raised:
        await harness.target.apply(spec("github"), Log())
    assert raised.value.reason == "StackLocked"
    assert "pulumi cancel --stack github" in raised.value.message
    assert "cancel" not in harness.cli.commands()


async def test_a_stale_lock_of_a_killed_cli_is_cancelled_and_refreshed(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    harness.cli.crash_during("up")
    with pytest.raises(TargetError):
        await harness.target.apply(spec("github"), Log())
    assert len(harness.cli.locks(PROJECT, "github", root=harness.backend)) == 1
    assert harness.cli.pending_operations(PROJECT, "github", root=harness.backend) != []

    log = Log()
    await harness.target.apply(spec("github"), log)
    assert "is stale: process" in log.text()
    # The stack was read back (its pending operations cleared), then the adapter deployed.
    assert ("refresh", "succeeded") in history(harness)
    assert history(harness)[0] == ("update", "succeeded")
    assert harness.cli.locks(PROJECT, "github", root=harness.backend) == []
    assert harness.cli.pending_operations(PROJECT, "github", root=harness.backend) == []


async def test_refresh_on_demand_runs_refresh(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    await harness.target.refresh(spec("github"), Log())
    assert history(harness) == [("refresh", "succeeded"), ("update", "succeeded")]


async def test_an_operation_past_its_timeout_is_interrupted(make_harness: Any) -> None:
    harness: Harness = await make_harness(pulumi_operation_timeout=0.5)
    gate = harness.hold("up")
    log = Log()
    with anyio.fail_after(30), pytest.raises(TargetError) as raised:
        await harness.target.apply(spec("github"), log)
    assert raised.value.reason == "Timeout"
    assert harness.signals == [("github", signal.SIGINT)]
    assert gate.outcome == "interrupt"
    assert "interrupting the Pulumi CLI" in log.text()


async def test_operations_on_one_adapter_run_one_at_a_time(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    gate = harness.hold("up")
    first = asyncio.create_task(harness.target.apply(spec("github"), Log()))
    await anyio.to_thread.run_sync(gate.wait_started)
    second = asyncio.create_task(harness.target.preview(spec("github", replicas=2)))
    # The preview would take well under this to reach the CLI if nothing held it back (no CLI call either).
    assert await stays_false(lambda: "preview" in harness.cli.commands())
    assert not second.done()
    gate.release()
    await first
    preview = await second
    # It previewed the stack the apply had deployed: a change of the StatefulSet, not a first create.
    ops = {r.name: r.op for r in preview.resources if r.type == "kubernetes:apps/v1:StatefulSet"}
    assert ops == {"github": "update"}


async def test_operations_on_different_adapters_run_up_to_the_bound(make_harness: Any) -> None:
    harness: Harness = await make_harness(pulumi_parallel_operations=1)
    gate = harness.hold("up")
    first = asyncio.create_task(harness.target.apply(spec("one"), Log()))
    await anyio.to_thread.run_sync(gate.wait_started)
    second = asyncio.create_task(harness.target.apply(spec("two"), Log()))
    # Without the bound, "two" would open its stack within this window; with it, it makes no CLI call at all.
    assert await stays_false(lambda: any(c.flag("--stack") == "two" for c in harness.cli.calls))
    assert not second.done()
    gate.release()
    await first
    await second
    for stack in ("one", "two"):
        assert history(harness, stack) == [("update", "succeeded")]


async def test_interrupt_on_shutdown_signals_the_running_operation(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    gate = harness.hold("up")
    running = asyncio.create_task(harness.target.apply(spec("github"), Log()))
    await anyio.to_thread.run_sync(gate.wait_started)
    await harness.target.interrupt()
    with pytest.raises(TargetError, match="canceled"):
        await running
    assert harness.signals == [("github", signal.SIGINT)]


async def test_plugins_for_the_installed_sdks_are_installed_at_start(make_harness: Any) -> None:
    from importlib import metadata

    harness: Harness = await make_harness()
    installs = [c.args[-3:] for c in harness.cli.calls if c.command == "plugin install"]
    assert installs == [
        ("resource", "kubernetes", f"v{metadata.version('pulumi-kubernetes')}"),
        ("resource", "azure-native", f"v{metadata.version('pulumi-azure-native')}"),
    ]


async def test_a_missing_cli_is_a_readiness_problem_and_every_operation_says_how_to_install(
    make_harness: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp_adapters.targets.kubernetes import KubernetesTarget
    from mcp_adapters.targets.kubernetes._stacks import Stacks

    harness: Harness = await make_harness()
    empty = tmp_path / "no-cli"
    (empty / "bin").mkdir(parents=True)
    settings = harness.settings.model_copy(update={"pulumi_cli_root": empty})
    target = KubernetesTarget(settings, stacks=Stacks(settings))  # the real lookup of the CLI
    await target.start()
    problem = target.problem()
    assert problem is not None
    assert "get.pulumi.com" in problem
    assert "MCP_ADAPTERS_PULUMI_CLI_ROOT" in problem
    with pytest.raises(TargetError) as raised:
        await target.apply(spec("github"), Log())
    assert raised.value.reason == "PulumiCliMissing"
    assert "get.pulumi.com" in raised.value.message

    # Installed later, without a restart: the readiness check finds it. (A stand-in that answers `version`.)
    cli = empty / "bin" / "pulumi"
    cli.write_text("#!/bin/sh\necho v3.272.0\n")
    cli.chmod(0o755)
    monkeypatch.setattr(kubernetes_target, "CLI_LOOKUP_INTERVAL", 0.0)  # a probe looks again every time
    assert target.problem() is not None  # this probe starts looking, in the background
    with anyio.fail_after(30):
        while target.problem() is not None:
            await asyncio.sleep(0.01)
    await target.close()


async def test_secrets_reach_the_stack_as_secrets_and_never_the_log(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    log = Log()
    await harness.target.apply(spec("github", GITHUB_TOKEN="ghp_verysecretvalue"), log)
    assert "ghp_verysecretvalue" not in log.text()
    secret = [r for r in harness.cli.resources(PROJECT, "github", root=harness.backend) if r["type"].endswith("Secret")]
    assert secret, "the adapter's secret variables become a Kubernetes Secret"
    assert "ghp_verysecretvalue" not in json.dumps([c.args for c in harness.cli.calls])


async def test_a_service_killed_mid_update_is_recovered_by_the_next_start(make_harness: Any, tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.service.conftest import wait_for

    state_dir, marker = tmp_path / "state", tmp_path / "held"
    held = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/service/targets/kubernetes/_held_update.py"), str(state_dir), str(marker)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        await anyio.to_thread.run_sync(lambda: wait_for(marker.exists, 60, "the update to be held"))
    finally:
        held.kill()
        held.wait(timeout=30)

    harness: Harness = await make_harness(pulumi_install_plugins=False)  # the same state dir: a restart
    assert len(harness.cli.locks(PROJECT, "github", root=harness.backend)) == 1
    log = Log()
    await harness.target.apply(spec("github"), log)
    assert ("refresh", "succeeded") in history(harness)  # read back before the update
    assert history(harness)[0] == ("update", "succeeded")
    assert "the up started" in log.text()
    assert "never finished" in log.text()
    assert harness.cli.locks(PROJECT, "github", root=harness.backend) == []
    assert not (harness.settings.state_dir / "pulumi" / "workspaces" / "github" / "operation.json").exists()


async def test_a_refresh_is_followed_by_an_up_that_repairs_what_it_found(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    await harness.target.refresh(spec("github"), Log())
    await harness.target.apply(spec("github"), Log())
    assert history(harness)[0] == ("update", "succeeded")
    assert len(history(harness)) == 3


async def test_going_back_to_the_applied_spec_after_a_failed_change_runs_up(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github", replicas=1), Log())
    harness.cli.fail_next("up", "quota exceeded")
    with pytest.raises(TargetError):
        await harness.target.apply(spec("github", replicas=3), Log())
    await harness.target.apply(spec("github", replicas=1), Log())  # the failed up may have changed things
    assert history(harness) == [("update", "succeeded"), ("update", "failed"), ("update", "succeeded")]


async def test_a_cli_killed_at_its_timeout_leaves_the_stack_to_be_recovered_first(
    make_harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kubernetes_target, "PULUMI_INTERRUPT_GRACE_SECONDS", 0.2)
    harness: Harness = await make_harness(pulumi_operation_timeout=0.5)
    harness.ignores_sigint = True
    harness.hold("up")
    log = Log()
    with anyio.fail_after(30), pytest.raises(TargetError) as raised:
        await harness.target.apply(spec("github"), log)
    assert raised.value.reason == "Timeout"
    assert harness.signals == [("github", signal.SIGINT), ("github", signal.SIGKILL)]
    assert "killing the CLI" in log.text()
    assert (harness.settings.state_dir / "pulumi" / "workspaces" / "github" / "operation.json").exists()

    harness.ignores_sigint = False
    await harness.target.apply(spec("github"), Log())
    assert history(harness) == [("update", "succeeded"), ("refresh", "succeeded")]  # recovered, then deployed
    assert harness.cli.locks(PROJECT, "github", root=harness.backend) == []
    assert not (harness.settings.state_dir / "pulumi" / "workspaces" / "github" / "operation.json").exists()


async def test_an_interrupted_operation_makes_no_further_attempt(make_harness: Any) -> None:
    # The first attempt meets a lock and waits before retrying; the timeout interrupts it while it waits.
    harness: Harness = await make_harness(
        pulumi_operation_timeout=0.5, pulumi_conflict_retries=5, pulumi_conflict_wait_seconds=2.0
    )
    harness.cli.conflict_next("up", times=1)
    with anyio.fail_after(30), pytest.raises(TargetError) as raised:
        await harness.target.apply(spec("github"), Log())
    assert raised.value.reason == "Timeout"
    # The timeout returns only once the operation's thread has ended: a second attempt would be recorded by now.
    assert harness.cli.commands().count("up") == 1


async def test_operations_waiting_for_their_turn_do_not_start_once_the_service_stops(make_harness: Any) -> None:
    harness: Harness = await make_harness(pulumi_parallel_operations=1)
    gate = harness.hold("up")
    running = asyncio.create_task(harness.target.apply(spec("one"), Log()))
    await anyio.to_thread.run_sync(gate.wait_started)
    queued = asyncio.create_task(harness.target.apply(spec("two"), Log()))
    await harness.target.interrupt()
    with pytest.raises(TargetError):
        await running
    with pytest.raises(TargetError) as raised:
        await queued
    assert raised.value.reason == "ShuttingDown"
    assert not any(c.flag("--stack") == "two" for c in harness.cli.calls)


async def test_a_cancelled_operation_stops_its_cli_before_letting_go_of_the_adapter(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    gate = harness.hold("up")
    running = asyncio.create_task(harness.target.apply(spec("github"), Log()))
    await anyio.to_thread.run_sync(gate.wait_started)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert harness.signals == [("github", signal.SIGINT)]
    assert gate.outcome == "interrupt"
    assert harness.cli.locks(PROJECT, "github", root=harness.backend) == []


async def test_a_failed_preview_of_a_new_adapter_leaves_no_stack(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    harness.cli.fail_next("config set-all", "cannot write the stack settings")
    with pytest.raises(TargetError):
        await harness.target.preview(spec("github"))
    assert harness.cli.stacks(PROJECT, root=harness.backend) == []
