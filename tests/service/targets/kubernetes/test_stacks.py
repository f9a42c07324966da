"""What the adapters' stacks survive: other replicas' locks, interrupted updates, new pods, long names, many updates."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_adapters.settings import PULUMI_STACK_PREFIX_LIMIT
from mcp_adapters.targets.base import TargetError
from mcp_infra.spec import MAX_NAME_LENGTH

from tests.service.targets.kubernetes.conftest import PROJECT, Harness, Log, spec

pytestmark = pytest.mark.anyio

VAULT = "azurekeyvault://mcp-stacks.vault.azure.net/keys/stacks"


def write_lock(backend: Path, stack: str, host: str, pid: int, at: datetime | None = None) -> Path:
    """A lock file as the DIY backend writes it for an operation running on `host`."""
    path = backend / ".pulumi" / "locks" / "organization" / PROJECT / stack / f"{uuid.uuid4()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    moment = (at or datetime.now(UTC)).astimezone().isoformat()
    path.write_text(json.dumps({"pid": pid, "username": "mcp", "hostname": host, "timestamp": moment}))
    return path


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def statefulset_replicas(harness: Harness, backend: Path, stack: str = "github") -> int:
    (statefulset,) = [
        r for r in harness.cli.resources(PROJECT, stack, root=backend) if r["type"] == "kubernetes:apps/v1:StatefulSet"
    ]
    return int(statefulset["inputs"]["spec"]["replicas"])


# -- locks and pending operations ------------------------------------------------------------------------------------


async def test_a_failure_that_merely_mentions_pending_operations_takes_no_other_replicas_lock(
    make_harness: Any,
) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    harness.cli.fail_next("up", "quota exceeded: 3 pending operations on the subscription")
    gate = harness.hold("up")
    running = asyncio.create_task(harness.target.apply(spec("github", replicas=2), Log()))
    await anyio.to_thread.run_sync(gate.wait_started)
    # Another replica is about to take the stack: its lock is there as soon as ours goes.
    theirs = write_lock(harness.backend, "github", host="mcp-adapters-7c9f-2", pid=4242)
    gate.release()
    with pytest.raises(TargetError) as raised:
        await running
    assert raised.value.reason == "PulumiFailed"
    assert "quota exceeded" in raised.value.message
    assert theirs.exists(), "the other replica's live lock was deleted"


async def test_an_update_failing_over_pending_operations_of_an_interrupted_one_is_repaired_and_retried(
    make_harness: Any,
) -> None:
    harness: Harness = await make_harness(pulumi_conflict_retries=0)
    harness.cli.crash_during("up")
    with pytest.raises(TargetError):
        await harness.target.apply(spec("github"), Log())
    # An operator cleared the dead CLI's lock; the operation it had in flight is still pending in the state.
    for lock in harness.cli.locks(PROJECT, "github", root=harness.backend):
        lock.unlink()
    assert harness.cli.pending_operations(PROJECT, "github", root=harness.backend) != []

    harness.cli.fail_next("up", 'services "github" already exists')
    start = len(harness.cli.calls)
    log = Log()
    await harness.target.apply(spec("github"), log)
    assert harness.cli.pending_operations(PROJECT, "github", root=harness.backend) == []
    assert "1 operation(s) an interrupted update left pending" in log.text()
    refresh = next(c for c in harness.cli.calls[start:] if c.command == "refresh")
    assert "--clear-pending-creates" in refresh.args
    assert "cancel" not in harness.calls_since(start), "no lock was stale: none may be cancelled"
    harness.roll_out()
    status = await harness.target.status("github")
    assert status.ready == status.desired > 0


async def test_a_stale_lock_beside_a_live_one_is_left_to_its_owner(make_harness: Any) -> None:
    harness: Harness = await make_harness(pulumi_conflict_retries=1)
    await harness.target.apply(spec("github"), Log())
    ours = write_lock(harness.backend, "github", host=socket.gethostname(), pid=dead_pid())
    theirs = write_lock(harness.backend, "github", host="mcp-adapters-7c9f-2", pid=4242)
    with pytest.raises(TargetError) as raised:
        await harness.target.apply(spec("github", replicas=2), Log())
    assert raised.value.reason == "StackLocked"
    assert "mcp@mcp-adapters-7c9f-2 (pid 4242)" in raised.value.message
    assert theirs.exists()
    assert ours.exists()


async def test_locks_that_are_all_stale_are_cleared(make_harness: Any) -> None:
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    write_lock(harness.backend, "github", host=socket.gethostname(), pid=dead_pid())
    write_lock(harness.backend, "github", host="gone-pod", pid=4242, at=datetime.now(UTC) - timedelta(hours=2))
    log = Log()
    await harness.target.apply(spec("github", replicas=2), log)
    assert harness.cli.locks(PROJECT, "github", root=harness.backend) == []
    assert "older than 3600s" in log.text()
    assert statefulset_replicas(harness, harness.backend) == 2


# -- secrets in a new pod --------------------------------------------------------------------------------------------


async def test_a_stack_opened_by_a_new_pod_needs_no_passphrase(make_harness: Any, tmp_path: Path) -> None:
    shared = tmp_path / "shared-backend"
    stacks = {"pulumi_backend_url": f"file://{shared}", "pulumi_secrets_provider": VAULT}
    first: Harness = await make_harness(state_dir=tmp_path / "pod-1", **stacks)
    await first.target.apply(spec("github", GITHUB_TOKEN="ghp_one"), Log())

    restarted: Harness = await make_harness(state_dir=tmp_path / "pod-2", **stacks)  # an empty work directory
    await restarted.target.apply(spec("github", GITHUB_TOKEN="ghp_one", replicas=2), Log())
    assert statefulset_replicas(restarted, shared) == 2


async def test_a_stack_never_updated_opens_in_a_new_pod_without_a_passphrase(make_harness: Any, tmp_path: Path) -> None:
    shared = tmp_path / "shared-backend"
    stacks = {"pulumi_backend_url": f"file://{shared}", "pulumi_secrets_provider": VAULT}
    first: Harness = await make_harness(state_dir=tmp_path / "pod-1", **stacks)
    first.cli.fail_next("config set-all", "the pod was stopped")
    with pytest.raises(TargetError):
        await first.target.apply(spec("github"), Log())
    assert first.cli.stacks(PROJECT, root=shared) == ["github"]
    assert first.cli.resources(PROJECT, "github", root=shared) == []  # created, never updated

    restarted: Harness = await make_harness(state_dir=tmp_path / "pod-2", **stacks)
    await restarted.target.apply(spec("github"), Log())
    assert statefulset_replicas(restarted, shared) == 1


# -- names -----------------------------------------------------------------------------------------------------------


async def test_the_longest_prefix_with_the_longest_adapter_name_is_a_valid_stack(make_harness: Any) -> None:
    prefix = "p" * PULUMI_STACK_PREFIX_LIMIT
    harness: Harness = await make_harness(pulumi_stack_prefix=prefix)
    name = "a" * MAX_NAME_LENGTH
    await harness.target.apply(spec(name), Log())
    assert harness.cli.stacks(PROJECT, root=harness.backend) == [prefix + name]
    await harness.target.delete(name, Log())
    assert harness.cli.stacks(PROJECT, root=harness.backend) == []


# -- a bounded backend -----------------------------------------------------------------------------------------------


async def test_a_file_backend_keeps_only_the_newest_history_of_each_stack(make_harness: Any) -> None:
    harness: Harness = await make_harness(pulumi_keep_history=3)
    for replicas in range(1, 6):
        await harness.target.apply(spec("github", replicas=replicas), Log())
        await harness.target.apply(spec("other", replicas=replicas), Log())
    for stack in ("github", "other"):
        history = harness.cli.history(PROJECT, stack, root=harness.backend)
        assert len(history) == 3
        assert [entry["resourceChanges"].get("update") for entry in history] == [1, 1, 1]
        checkpoints = list((harness.backend / ".pulumi" / "history" / PROJECT / stack).glob("*.checkpoint.json"))
        assert len(checkpoints) == 3
    assert not (harness.backend / ".pulumi" / "backups").exists()
    # What is left is still the stacks' history as the CLI reads it.
    stack = await anyio.to_thread.run_sync(lambda: harness.target.stacks.existing("github", lambda: None))
    assert stack is not None
    assert len(await anyio.to_thread.run_sync(stack.history)) == 3


# -- plugins and policy packs ----------------------------------------------------------------------------------------


async def test_plugins_baked_into_the_image_are_used_and_not_downloaded(make_harness: Any, tmp_path: Path) -> None:
    from importlib import metadata

    version = metadata.version("pulumi-kubernetes")
    bundle = tmp_path / "image" / "plugins"
    baked = bundle / f"resource-kubernetes-v{version}" / "pulumi-resource-kubernetes"
    baked.parent.mkdir(parents=True)
    baked.write_text("#!/bin/sh\n")
    home = tmp_path / "pulumi-home"
    harness: Harness = await make_harness(pulumi_plugins_dir=bundle, pulumi_home=home)

    installs = [c.args[-3:] for c in harness.cli.calls if c.command == "plugin install"]
    assert installs == [("resource", "azure-native", f"v{metadata.version('pulumi-azure-native')}")]  # not baked
    installed = home / "plugins" / f"resource-kubernetes-v{version}"
    assert installed.is_dir()
    assert not installed.is_symlink(), "the engine lists only real plugin directories"
    assert (installed / "pulumi-resource-kubernetes").resolve() == baked.resolve()


async def test_policy_packs_check_against_the_services_own_platform_settings(make_harness: Any, tmp_path: Path) -> None:
    from mcp_policies.crossguard import load_config

    platform = tmp_path / "platform.yaml"
    platform.write_text("registry: registry.internal.example/mcp\nnamespace: tools\n")
    harness: Harness = await make_harness(pulumi_policy_packs=str(tmp_path / "pack"), platform_settings_file=platform)
    await harness.target.apply(spec("github"), Log())
    up = next(c for c in harness.cli.calls if c.command == "up")
    assert up.flag("--policy-pack") == str(tmp_path / "pack")
    config = load_config(up.env["MCP_ADAPTERS_POLICY_CONFIG"])
    assert config.allowed_registries == ["registry.internal.example/mcp"]
