"""`FakePulumiCommand` driven through the real Automation API, as the Kubernetes target drives the CLI."""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from mcp_infra.component import McpAdapter
from mcp_infra.names import ADAPTER_TYPE_TOKEN
from mcp_infra.spec import AdapterSpec
from pulumi import automation as auto
from pulumi.automation import errors

from tests.doubles.pulumi_cli import CliCall, FakePulumiCommand, command_of
from tests.infra.pulumi_mocks import ISSUER

PROJECT = "adapters"
PASSPHRASE = "correct horse"


def configmaps(data: dict[str, str], *, ran: list[int] | None = None) -> Callable[[], None]:
    """A program: a namespace and one ConfigMap per entry of `data`, exporting the namespace name."""

    def program() -> None:
        if ran is not None:
            ran.append(os.getpid())
        namespace = k8s.core.v1.Namespace("ns", metadata={"name": "mcp"})
        for name, value in data.items():
            k8s.core.v1.ConfigMap(
                name,
                metadata={"namespace": "mcp", "name": name},
                data={"value": value},
                opts=pulumi.ResourceOptions(parent=namespace),
            )
        pulumi.export("namespace", namespace.metadata["name"])

    return program


class Harness:
    """One DIY backend directory; stacks get a work directory each, as the target gives each adapter one."""

    def __init__(self, tmp_path: Path, double: FakePulumiCommand) -> None:
        self.tmp_path = tmp_path
        self.state = tmp_path / "state"
        self.state.mkdir()  # the real CLI does not create a file:// backend's directory
        self.double = double

    def env(self) -> dict[str, str]:
        return {"PULUMI_BACKEND_URL": f"file://{self.state}", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}

    def stack(
        self,
        name: str,
        program: Callable[[], None],
        double: FakePulumiCommand | None = None,
        env: dict[str, str] | None = None,
    ) -> auto.Stack:
        work = self.tmp_path / "work" / name
        work.mkdir(parents=True, exist_ok=True)
        return auto.create_or_select_stack(
            stack_name=name,
            project_name=PROJECT,
            program=program,
            opts=auto.LocalWorkspaceOptions(
                work_dir=str(work),
                pulumi_command=double or self.double,
                env_vars=self.env() if env is None else env,
                project_settings=auto.ProjectSettings(name=PROJECT, runtime="python"),
            ),
        )


@pytest.fixture
def double() -> FakePulumiCommand:
    return FakePulumiCommand()


@pytest.fixture
def harness(tmp_path: Path, double: FakePulumiCommand) -> Harness:
    return Harness(tmp_path, double)


def kinds(events: list[auto.EngineEvent]) -> list[str]:
    fields = ("prelude_event", "resource_pre_event", "res_outputs_event", "diagnostic_event", "summary_event")
    return [next((f for f in fields if getattr(e, f)), "cancel_event" if e.cancel_event else "?") for e in events]


@pytest.fixture
def run_in_thread() -> Iterator[Callable[[Callable[[], Any]], dict[str, Any]]]:
    threads: list[threading.Thread] = []

    def start(call: Callable[[], Any]) -> dict[str, Any]:
        outcome: dict[str, Any] = {}

        def body() -> None:
            try:
                outcome["result"] = call()
            except BaseException as exn:  # handed to the test, which asserts on it
                outcome["error"] = exn

        thread = threading.Thread(target=body)
        threads.append(thread)
        thread.start()
        outcome["thread"] = thread
        return outcome

    yield start
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive(), "an operation was left running"


def test_create_or_select_then_up_creates_the_resources_and_reports_them(harness: Harness) -> None:
    ran: list[int] = []
    stack = harness.stack("alpha", configmaps({"a": "1", "b": "2"}, ran=ran))
    result = stack.up()

    assert ran == [os.getpid()], "the inline program runs in the caller's process"
    assert result.summary.kind == "update"
    assert result.summary.result == "succeeded"
    assert result.summary.resource_changes == {"create": 4}  # the stack, the namespace, two ConfigMaps
    assert result.outputs["namespace"].value == "mcp"
    assert "Updating (alpha):" in result.stdout
    assert "+ 4 created" in result.stdout
    assert harness.double.commands() == [
        "stack select", "stack init", "up", "stack output", "stack output", "stack history",
    ]  # fmt: skip

    resources = {r["name"]: r for r in harness.double.resources(PROJECT, "alpha")}
    assert resources["a"]["type"] == "kubernetes:core/v1:ConfigMap"
    assert resources["a"]["urn"] == (
        "urn:pulumi:alpha::adapters::kubernetes:core/v1:Namespace$kubernetes:core/v1:ConfigMap::a"
    )
    assert resources["a"]["inputs"]["data"] == {"value": "1"}
    assert resources["a"]["outputs"]["metadata"]["resourceVersion"] == "42"  # from the Recorder mocks
    assert resources["a"]["provider"].startswith("urn:pulumi:alpha::adapters::pulumi:providers:kubernetes::default")
    assert resources["adapters-alpha"]["type"] == "pulumi:pulumi:Stack"

    pulumi_dir = harness.state / ".pulumi"
    checkpoint = json.loads((pulumi_dir / "stacks" / PROJECT / "alpha.json").read_text())
    assert checkpoint["version"] == 3
    assert checkpoint["checkpoint"]["stack"] == "organization/adapters/alpha"
    assert checkpoint["checkpoint"]["latest"]["secrets_providers"]["type"] == "passphrase"
    assert (pulumi_dir / "meta.yaml").read_text() == "version: 1\n"
    assert len(list((pulumi_dir / "history" / PROJECT / "alpha").glob("alpha-*.history.json"))) == 1
    assert harness.double.locks(PROJECT, "alpha") == []
    assert "encryptionsalt" in (harness.tmp_path / "work" / "alpha" / "Pulumi.alpha.yaml").read_text()


def test_a_second_up_is_all_same_and_a_changed_program_updates_and_deletes(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1", "b": "2"}))
    stack.up()
    before = {r["name"]: r["id"] for r in harness.double.resources(PROJECT, "alpha")}

    assert stack.up().summary.resource_changes == {"same": 4}

    changed = stack.up(program=configmaps({"a": "changed"}))
    assert changed.summary.resource_changes == {"same": 2, "update": 1, "delete": 1}
    after = {r["name"]: r for r in harness.double.resources(PROJECT, "alpha")}
    assert set(after) == {"adapters-alpha", "ns", "a", *(n for n in after if n.startswith("default"))}
    assert after["a"]["inputs"]["data"] == {"value": "changed"}
    assert after["a"]["id"] == before["a"], "an update keeps the resource's id"
    assert [h["resourceChanges"] for h in harness.double.history(PROJECT, "alpha")] == [
        {"same": 2, "update": 1, "delete": 1},
        {"same": 4},
        {"create": 4},
    ]


def test_preview_changes_nothing_takes_no_lock_and_returns_the_change_summary(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1", "b": "2"}))
    stack.up()
    checkpoint = (harness.state / ".pulumi" / "stacks" / PROJECT / "alpha.json").read_bytes()
    other = harness.state / ".pulumi" / "locks" / "organization" / PROJECT / "alpha" / f"{uuid.uuid4()}.json"
    other.write_text(json.dumps({"pid": 1, "username": "u", "hostname": "h", "timestamp": "2025-01-02T03:04:05Z"}))

    preview = stack.preview(program=configmaps({"a": "1", "b": "2", "c": "3"}))  # an update holds the lock

    assert preview.change_summary == {"same": 4, "create": 1}
    assert "Previewing update (alpha):" in preview.stdout
    assert "+ 1 to create" in preview.stdout
    assert (harness.state / ".pulumi" / "stacks" / PROJECT / "alpha.json").read_bytes() == checkpoint
    assert len(harness.double.history(PROJECT, "alpha")) == 1
    assert harness.double.locks(PROJECT, "alpha") == [other]
    with pytest.raises(errors.ConcurrentUpdateError, match=r"created by u@h \(pid 1\) at 2025-01-02T03:04:05Z"):
        stack.up()

    digest = json.loads(stack.preview(json=True).stdout)
    assert digest["changeSummary"] == {"same": 4}
    assert stack.preview(expect_no_changes=True).change_summary == {"same": 4}
    with pytest.raises(errors.CommandError, match="no changes were expected but changes were proposed"):
        stack.preview(expect_no_changes=True, program=configmaps({"a": "2", "b": "2"}))


def test_on_event_gets_the_engine_events_over_grpc(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    events: list[auto.EngineEvent] = []
    stack.up(on_event=events.append)

    up = next(c for c in harness.double.calls if c.command == "up")
    assert (up.flag("--event-log") or "").startswith("tcp://127.0.0.1:")
    seen = kinds(events)
    assert seen[0] == "prelude_event"
    assert seen[-2:] == ["summary_event", "cancel_event"]
    assert seen.count("resource_pre_event") == seen.count("res_outputs_event") == 3
    assert [e.sequence for e in events] == list(range(len(events)))
    creates = [e.resource_pre_event.metadata for e in events if e.resource_pre_event]
    assert {m.op for m in creates} == {auto.OpType.CREATE}
    assert {m.type for m in creates} >= {"kubernetes:core/v1:ConfigMap", "pulumi:pulumi:Stack"}
    summary = next(e.summary_event for e in events if e.summary_event)
    assert summary.resource_changes == {"create": 3}


def test_on_event_tails_the_event_log_file_for_an_older_cli(tmp_path: Path) -> None:
    double = FakePulumiCommand(version="3.200.0")
    harness = Harness(tmp_path, double)
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    events: list[auto.EngineEvent] = []

    def log() -> None:
        pulumi.log.warn("careful")

    stack.up(on_event=events.append)
    stack.up(on_event=events.append, program=log)

    ups = [c for c in double.calls if c.command == "up"]
    assert all(not (c.flag("--event-log") or "tcp://").startswith("tcp://") for c in ups), "a file path"
    assert kinds(events).count("cancel_event") == 2
    warnings = [e.diagnostic_event for e in events if e.diagnostic_event]
    assert [(w.severity, w.message) for w in warnings] == [("warning", "careful\n")]
    last = [e.summary_event for e in events if e.summary_event][-1]
    assert last.resource_changes == {"same": 1, "delete": 2}


def test_destroy_then_remove_stack_leaves_no_stack(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    stack.up()
    with pytest.raises(errors.CommandError, match="still has resources; removal rejected"):
        stack.workspace.remove_stack("alpha")

    destroyed = stack.destroy()
    assert destroyed.summary.kind == "destroy"
    assert destroyed.summary.resource_changes == {"delete": 3}
    assert harness.double.resources(PROJECT, "alpha") == []

    stack.workspace.remove_stack("alpha")
    assert harness.double.stacks(PROJECT) == []
    assert not (harness.tmp_path / "work" / "alpha" / "Pulumi.alpha.yaml").exists()
    assert not (harness.state / ".pulumi" / "history" / PROJECT / "alpha").exists()
    options = auto.LocalWorkspaceOptions(pulumi_command=harness.double, env_vars=harness.env())
    with pytest.raises(errors.StackNotFoundError, match="no stack named 'alpha' found"):
        auto.select_stack(stack_name="alpha", work_dir=stack.workspace.work_dir, opts=options)


def test_a_lock_held_elsewhere_is_a_concurrent_update_error_until_it_goes(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    harness.double.conflict_next("up", times=2)

    for _ in range(2):
        with pytest.raises(errors.ConcurrentUpdateError) as caught:
            stack.up()
    stderr = str(caught.value).split("stderr: ", 1)[1]
    lock_dir = harness.state / ".pulumi" / "locks" / "organization" / PROJECT / "alpha"
    assert re.fullmatch(
        r"error: the stack is currently locked by 1 lock\(s\)\. Either wait for the other process\(es\) to end or "
        r"delete the lock file with `pulumi cancel`\.\n"
        rf"  file://{re.escape(str(lock_dir))}/[0-9a-f-]{{36}}\.json\?no_tmp_dir=true: created by deployer@ci-runner-7 "
        r"\(pid 4242\) "
        r"at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)",
        stderr,
    )
    assert harness.double.locks(PROJECT, "alpha") == [], "the other process is done"
    assert stack.up().summary.result == "succeeded"


def test_cancel_clears_a_lock_and_succeeds_without_one(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    stack.cancel()  # the DIY backend cancels nothing quietly
    harness.double.crash_during("up")
    with pytest.raises(errors.CommandError):
        stack.up()
    with pytest.raises(errors.ConcurrentUpdateError):
        stack.refresh()

    stack.cancel()
    assert harness.double.locks(PROJECT, "alpha") == []
    cancel = [c for c in harness.double.calls if c.command == "cancel"][-1]
    assert cancel.args == ("--non-interactive", "cancel", "--yes", "--stack", "alpha")


def test_a_crash_leaves_lock_and_pending_create_and_a_restarted_service_recovers(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    harness.double.crash_during("up")
    with pytest.raises(errors.CommandError) as caught:
        stack.up()
    assert type(caught.value) is errors.CommandError
    assert "code: -9" in str(caught.value)

    restarted = FakePulumiCommand()  # a new service process: nothing in memory, the same directory
    (lock,) = restarted.locks(PROJECT, "alpha", root=harness.state)
    assert json.loads(lock.read_text())["pid"] != os.getpid(), "the killed CLI is gone"
    (pending,) = restarted.pending_operations(PROJECT, "alpha", root=harness.state)
    assert pending["type"] == "creating"
    assert pending["resource"]["type"] == "kubernetes:core/v1:Namespace", "the first provider operation"
    assert restarted.history(PROJECT, "alpha", root=harness.state) == [], "a killed CLI writes no history"

    again = harness.stack("alpha", configmaps({"a": "1"}), double=restarted)
    with pytest.raises(errors.ConcurrentUpdateError):
        again.up()
    again.cancel()

    events: list[auto.EngineEvent] = []
    result = again.up(on_event=events.append)  # the 3.272 engine warns about pending operations, and goes on
    warning = next(e.diagnostic_event for e in events if e.diagnostic_event)
    assert warning.severity == "warning"
    assert warning.message.startswith("Attempting to deploy or update resources with 1 pending operations")
    assert result.summary.resource_changes == {"same": 1, "create": 2}, "the stack resource was done before"
    assert len(restarted.pending_operations(PROJECT, "alpha")) == 1, "pending creates are kept"

    refreshed = again.refresh(clear_pending_creates=True)
    assert refreshed.summary.kind == "refresh"
    assert refreshed.summary.resource_changes == {"same": 3}
    assert restarted.pending_operations(PROJECT, "alpha") == []


def test_fail_next_fails_the_operation_as_the_engine_does(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    harness.double.fail_next("up", "kubernetes:apps/v1:StatefulSet resource 'proxy' failed: quota exceeded")
    events: list[auto.EngineEvent] = []
    with pytest.raises(errors.CommandError, match="quota exceeded") as caught:
        stack.up(on_event=events.append)

    assert "code: 255" in str(caught.value)
    assert "error: update failed" in str(caught.value)
    errors_ = [
        e.diagnostic_event.message for e in events if e.diagnostic_event and e.diagnostic_event.severity == "error"
    ]
    assert errors_[0].startswith("kubernetes:apps/v1:StatefulSet resource 'proxy' failed: quota exceeded")
    (entry,) = harness.double.history(PROJECT, "alpha")
    assert entry["result"] == "failed"
    assert stack.info() is not None
    assert stack.info().result == "failed"  # type: ignore[union-attr]
    assert harness.double.locks(PROJECT, "alpha") == []
    assert stack.up().summary.resource_changes == {"create": 3}


def test_an_inline_program_error_is_an_inline_source_runtime_error(harness: Harness) -> None:
    def broken() -> None:
        k8s.core.v1.Namespace("ns", metadata={"name": "mcp"})
        raise ValueError("the spec is wrong")

    stack = harness.stack("alpha", broken)
    with pytest.raises(errors.InlineSourceRuntimeError, match="the spec is wrong"):
        stack.up()
    assert harness.double.history(PROJECT, "alpha")[0]["result"] == "failed"


def test_hold_blocks_the_operation_with_its_lock_until_released(
    harness: Harness, run_in_thread: Callable[[Callable[[], Any]], dict[str, Any]]
) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    gate = harness.double.hold("up")
    running = run_in_thread(stack.up)
    assert gate.wait_started()

    assert len(harness.double.locks(PROJECT, "alpha")) == 1
    with pytest.raises(errors.ConcurrentUpdateError):
        harness.stack("alpha", configmaps({"a": "1"})).up()  # one operation per stack
    assert "result" not in running

    gate.release()
    running["thread"].join(timeout=30)
    assert running["result"].summary.resource_changes == {"create": 3}
    assert harness.double.locks(PROJECT, "alpha") == []


def test_an_interrupted_operation_is_canceled_and_a_killed_one_crashes(
    harness: Harness, run_in_thread: Callable[[Callable[[], Any]], dict[str, Any]]
) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    gate = harness.double.hold("up")
    running = run_in_thread(stack.up)
    assert gate.wait_started()
    gate.interrupt()
    running["thread"].join(timeout=30)
    assert "update canceled" in str(running["error"])
    assert harness.double.locks(PROJECT, "alpha") == []
    assert harness.double.history(PROJECT, "alpha")[0]["result"] == "failed"

    gate = harness.double.hold("destroy")
    running = run_in_thread(stack.destroy)
    assert gate.wait_started()
    gate.kill()
    running["thread"].join(timeout=30)
    assert "code: -9" in str(running["error"])
    assert len(harness.double.locks(PROJECT, "alpha")) == 1


def test_two_stacks_update_concurrently_from_two_threads(
    harness: Harness, run_in_thread: Callable[[Callable[[], Any]], dict[str, Any]]
) -> None:
    both_running = threading.Barrier(2, timeout=20)

    def program(name: str) -> Callable[[], None]:
        def body() -> None:
            both_running.wait()  # only passes when the other stack's program is running too
            k8s.core.v1.ConfigMap(name, metadata={"name": name}, data={"value": name})

        return body

    stacks = [harness.stack(name, program(name)) for name in ("alpha", "beta")]
    runs = [run_in_thread(stack.up) for stack in stacks]
    for run in runs:
        run["thread"].join(timeout=30)
    assert [run.get("error") for run in runs] == [None, None]
    assert [run["result"].summary.resource_changes for run in runs] == [{"create": 2}, {"create": 2}]
    assert harness.double.stacks(PROJECT) == ["alpha", "beta"]


def test_config_round_trips_and_reaches_the_program_with_its_secrets(harness: Harness) -> None:
    def program() -> None:
        config = pulumi.Config()
        pulumi.export("image", config.require("image"))
        pulumi.export("token", config.require_secret("token"))
        pulumi.export("replicas", config.require_object("proxy")["replicas"])

    stack = harness.stack("alpha", program)
    stack.set_all_config({"image": auto.ConfigValue("mcp-proxy:1.0"), "token": auto.ConfigValue("s3cr3t", secret=True)})
    stack.set_config("kubernetes:context", auto.ConfigValue("kind-mcp"))
    stack.set_config("proxy.replicas", auto.ConfigValue("2"), path=True)

    assert {k: (v.value, v.secret) for k, v in stack.get_all_config().items()} == {
        "adapters:image": ("mcp-proxy:1.0", False),
        "adapters:token": ("s3cr3t", True),
        "kubernetes:context": ("kind-mcp", False),
        "adapters:proxy": ('{"replicas": "2"}', False),
    }
    assert stack.get_config("token").value == "s3cr3t"
    assert stack.get_config("proxy.replicas", path=True).value == "2"
    settings = (harness.tmp_path / "work" / "alpha" / "Pulumi.alpha.yaml").read_text()
    assert "s3cr3t" not in settings
    assert "secure:" in settings

    outputs = stack.up().outputs
    assert (outputs["image"].value, outputs["image"].secret) == ("mcp-proxy:1.0", False)
    assert (outputs["token"].value, outputs["token"].secret) == ("s3cr3t", True)
    assert outputs["replicas"].value == "2"
    stack.remove_config("image")
    assert "adapters:image" not in stack.get_all_config()


def test_a_wrong_passphrase_is_refused_even_from_a_fresh_work_dir(harness: Harness) -> None:
    harness.stack("alpha", configmaps({"a": "1"})).up()
    (harness.tmp_path / "work" / "alpha" / "Pulumi.alpha.yaml").unlink()  # a restarted service's new work dir
    env = harness.env() | {"PULUMI_CONFIG_PASSPHRASE": "wrong"}
    with pytest.raises(errors.CommandError, match="incorrect passphrase"):
        harness.stack("alpha", configmaps({"a": "1"}), env=env).up()
    assert harness.stack("alpha", configmaps({"a": "1"})).up().summary.resource_changes == {"same": 3}


def test_an_mcp_adapter_component_deploys_and_on_applied_sees_its_statefulset(harness: Harness) -> None:
    applied: list[tuple[str, list[dict[str, Any]]]] = []
    harness.double.on_applied = lambda stack, resources: applied.append((stack, resources))
    spec = AdapterSpec.model_validate(
        {
            "name": "ado-remote",
            "imageName": "mcp-proxy",
            "imageVersion": "1.0.0",
            "environmentVariables": {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure-devops/mcp contoso"},
            "useWorkloadIdentity": True,
        }
    )

    def program() -> None:
        adapter = McpAdapter(spec.name, spec)
        pulumi.export("endpoint", adapter.endpoint)
        pulumi.export("clientId", adapter.identity_client_id)

    stack = harness.stack("ado-remote", program)
    result = stack.up()

    assert result.outputs["clientId"].value.startswith("client-")
    ((name, resources),) = applied
    assert name == "ado-remote"
    types = {r["type"] for r in resources}
    assert {ADAPTER_TYPE_TOKEN, "kubernetes:apps/v1:StatefulSet"} <= types
    statefulset = next(r for r in resources if r["type"] == "kubernetes:apps/v1:StatefulSet")
    assert statefulset["outputs"]["spec"]["template"]["spec"]["containers"]
    assert statefulset["parent"].endswith(f"{ADAPTER_TYPE_TOKEN}::ado-remote")
    invoked = [token for token, _ in harness.double.mocks.calls]  # type: ignore[attr-defined]
    assert "azure-native:containerservice:getManagedCluster" in invoked, "invokes reach the mocks"
    credential = next(r for r in resources if r["type"].endswith("FederatedIdentityCredential"))
    assert credential["inputs"]["issuer"] == ISSUER

    stack.destroy()
    assert applied[-1] == ("ado-remote", [])


def test_recorded_calls_carry_cwd_env_and_the_policy_pack_flag(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    stack.up(policy_packs=["/packs/mcp"])

    up = next(c for c in harness.double.calls if c.command == "up")
    assert up.cwd == str(harness.tmp_path / "work" / "alpha")
    assert up.env["PULUMI_BACKEND_URL"] == f"file://{harness.state}"
    assert up.env["PULUMI_AUTOMATION_API"] == "true"
    assert up.args[0] == "--non-interactive"
    assert up.flag("--policy-pack") == "/packs/mcp"
    assert up.flag("--exec-kind") == "auto.inline"
    assert (up.flag("--client") or "").startswith("127.0.0.1:")
    assert up.flag("--stack") == "alpha"


def test_stacks_history_and_tags_are_listed_like_the_cli_lists_them(harness: Harness) -> None:
    alpha = harness.stack("alpha", configmaps({"a": "1"}))
    harness.stack("beta", configmaps({"b": "1"}))
    for _ in range(12):
        alpha.refresh()

    listed = {s.name: s for s in alpha.workspace.list_stacks()}
    assert set(listed) == {"alpha", "beta"}
    assert listed["alpha"].last_update is not None
    # `stack init` writes a checkpoint (manifest and secrets manager, no resources), as the 3.274 CLI does.
    assert listed["beta"].last_update is not None
    assert listed["beta"].resource_count == 0
    assert len(alpha.history()) == 10, "the CLI's default page size"
    assert [h.kind for h in alpha.history(page_size=5, page=3)] == ["refresh"] * 2
    alpha.set_tag("owner", "team-mcp")
    assert alpha.get_tag("owner") == "team-mcp"
    assert alpha.list_tags() == {"owner": "team-mcp", "pulumi:project": PROJECT}
    assert alpha.workspace.who_am_i().user


def test_what_the_double_does_not_know_fails_loudly(harness: Harness) -> None:
    stack = harness.stack("alpha", configmaps({"a": "1"}))
    with pytest.raises(AssertionError, match="unexpected command: pulumi --non-interactive stack rename"):
        stack.rename("gamma")
    with pytest.raises(AssertionError, match="does not model --target"):
        stack.up(target=["urn:pulumi:alpha::adapters::kubernetes:core/v1:Namespace::ns"])
    assert command_of(("--non-interactive", "config", "set-all", "--stack", "s")) == "config set-all"
    assert CliCall(("--non-interactive", "stack", "rm", "--yes", "s"), "/", {}).command == "stack rm"


def test_a_backend_that_is_not_a_local_directory_fails_as_the_cli_would(harness: Harness) -> None:
    env = {"PULUMI_BACKEND_URL": "s3://bucket/state", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}
    with pytest.raises(errors.CommandError, match="file://"):
        harness.stack("alpha", configmaps({"a": "1"}), env=env)
    missing = {"PULUMI_BACKEND_URL": f"file://{harness.tmp_path / 'nowhere'}", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}
    with pytest.raises(errors.CommandError, match="no such file or directory"):
        harness.stack("alpha", configmaps({"a": "1"}), env=missing)
