"""The stand-in azure-native plugin under the real Pulumi engine, through the Automation API.

Each test gets its own cloud directory, DIY backend and PULUMI_HOME; the
launcher is first on PATH, so the engine picks it up as an ambient plugin
although the Python SDK asks for azure-native 3.29.0.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pytest
from pulumi import automation as auto

from tests.realstack import azure_native as stand_in
from tests.realstack import tools
from tests.realstack.fixtures import require

SUBSCRIPTION = "5f1c0b3e-8c1d-4a7e-9b2f-0d6e4c3a2b10"
GROUP = "rg-mcp-adapters"
CLUSTER = "aks-platform"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/1111/"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ROLE = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
IDENTITIES = f"{GROUP_ID}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
ROLE_ASSIGNMENT_NAME = "0b4f7e1c-5a3d-4f2e-8c9b-7d6a5e4f3c2b"
WAIT_SECONDS = 60.0

Program = Callable[[], None]

pytestmark = pytest.mark.real_engine


@dataclass(frozen=True)
class Sandbox:
    """A cloud with a resource group and an AKS cluster, and what a Pulumi CLI needs to deploy into it."""

    cloud: Path
    work: Path
    env: dict[str, str]

    def stack(self, name: str, program: Program, **env: str) -> auto.Stack:
        work_dir = self.work / "project"
        work_dir.mkdir(exist_ok=True)
        options = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            env_vars={**self.env, **env},
            pulumi_command=auto.PulumiCommand(root=str(_pulumi_tool().home), skip_version_check=True),
        )
        return auto.create_or_select_stack(stack_name=name, project_name="stand-in", program=program, opts=options)


def _pulumi_tool() -> tools.GoTool:
    return next(tool for tool in tools.TOOLS if tool.name == "pulumi")


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    require(("pulumi",))
    monkeypatch.delenv("PULUMI_IGNORE_AMBIENT_PLUGINS", raising=False)
    for name in ("ARM_SUBSCRIPTION_ID", "ARM_LOCATION", stand_in.HOLD_CREATE_ENV):
        monkeypatch.delenv(name, raising=False)
    cloud, plugins, state = tmp_path / "cloud", tmp_path / "plugins", tmp_path / "state"
    state.mkdir()
    stand_in.install(plugins)
    stand_in.seed_resource_group(cloud, SUBSCRIPTION, GROUP, "westeurope")
    stand_in.seed_managed_cluster(cloud, SUBSCRIPTION, GROUP, CLUSTER, ISSUER)
    env = {
        **stand_in.environment(cloud, SUBSCRIPTION),
        "PATH": os.pathsep.join([str(plugins), str(_pulumi_tool().bin), os.environ.get("PATH", "")]),
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "stand-in",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # The plugin must come from PATH: a download could not work here, and would not be the stand-in.
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    return Sandbox(cloud, tmp_path, env)


def identity_program(
    name: str = "adapter-demo",
    *,
    location: str | None = None,
    tags: dict[str, str] | None = None,
    credential: bool = True,
    role: bool = True,
    import_id: str | None = None,
) -> Program:
    """What the product deploys per adapter: an identity, its federated credential, a role assignment."""

    def program() -> None:
        identity = azure_native.managedidentity.UserAssignedIdentity(
            name,
            resource_group_name=GROUP,
            resource_name_=name,
            location=location,
            tags=tags if tags is not None else {"mcp-adapters/adapter": name},
            opts=pulumi.ResourceOptions(import_=import_id),
        )
        if credential:
            cluster = azure_native.containerservice.get_managed_cluster_output(
                resource_group_name=GROUP, resource_name=CLUSTER
            )
            azure_native.managedidentity.FederatedIdentityCredential(
                f"{name}-fic",
                resource_group_name=GROUP,
                resource_name_=identity.name,
                federated_identity_credential_resource_name=f"{name}-fic",
                issuer=cluster.oidc_issuer_profile.apply(lambda profile: profile.issuer_url),
                subject=f"system:serviceaccount:mcp-adapters:{name}",
                audiences=["api://AzureADTokenExchange"],
            )
        if role:
            azure_native.authorization.RoleAssignment(
                f"{name}-reader",
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                role_definition_id=ROLE,
                scope=GROUP_ID,
                role_assignment_name=ROLE_ASSIGNMENT_NAME,
                description=f"mcp-adapters: adapter {name}",
            )
        pulumi.export("clientId", identity.client_id)
        pulumi.export("principalId", identity.principal_id)

    return program


def raw_resource_program(token: str, props: dict[str, Any]) -> Program:
    """A resource the typed SDK would refuse before the engine: what reaches the provider's Check as is."""

    def program() -> None:
        pulumi.CustomResource(token, "raw", props)

    return program


def by_type(cloud: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in stand_in.resources(cloud):
        found.setdefault(resource["token"], []).append(resource)
    return found


def test_up_preview_refresh_destroy_against_the_stand_in_cloud(sandbox: Sandbox) -> None:
    stack = sandbox.stack("dev", identity_program())

    preview = stack.preview()
    assert preview.change_summary == {"create": 4}  # the stack and three Azure resources
    assert stand_in.resources(sandbox.cloud) == []

    up = stack.up()
    assert up.summary.resource_changes == {"create": 4}
    found = by_type(sandbox.cloud)
    [identity] = found[stand_in.IDENTITY]
    assert identity["id"] == f"{IDENTITIES}/adapter-demo"
    outputs = identity["outputs"]
    assert outputs["clientId"] == up.outputs["clientId"].value
    assert outputs["principalId"] == up.outputs["principalId"].value
    assert outputs["location"] == "westeurope"  # from the resource group, as the real provider defaults it
    assert outputs["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities"
    [credential] = found[stand_in.FEDERATED_CREDENTIAL]
    assert credential["id"] == f"{IDENTITIES}/adapter-demo/federatedIdentityCredentials/adapter-demo-fic"
    assert credential["outputs"]["issuer"] == ISSUER  # read from the cluster through getManagedCluster
    [assignment] = found[stand_in.ROLE_ASSIGNMENT]
    assert assignment["id"] == f"{GROUP_ID}/providers/Microsoft.Authorization/roleAssignments/{ROLE_ASSIGNMENT_NAME}"
    assert assignment["outputs"]["principalId"] == outputs["principalId"]

    deployed = stand_in.resources(sandbox.cloud)
    assert stack.up().summary.resource_changes == {"same": 4}
    assert stack.refresh().summary.resource_changes == {"same": 4}
    assert stand_in.resources(sandbox.cloud) == deployed

    assert stack.destroy().summary.resource_changes == {"delete": 4}
    assert stand_in.resources(sandbox.cloud) == []
    methods = {call["method"] for call in stand_in.calls(sandbox.cloud)}
    assert {"GetPluginInfo", "Configure", "Check", "Diff", "Create", "Read", "Invoke", "Delete"} <= methods


def test_a_second_stack_cannot_create_an_identity_that_already_exists(sandbox: Sandbox) -> None:
    first = sandbox.stack("first", identity_program(credential=False, role=False)).up()

    with pytest.raises(auto.CommandError) as failed:
        sandbox.stack("second", identity_program(credential=False, role=False)).up()

    assert f"cannot create already existing resource '{IDENTITIES}/adapter-demo'" in str(failed.value)
    [identity] = stand_in.resources(sandbox.cloud)
    assert identity["outputs"]["clientId"] == first.outputs["clientId"].value  # untouched


def test_an_existing_identity_is_adopted_by_import(sandbox: Sandbox) -> None:
    first = sandbox.stack("first", identity_program(credential=False, role=False)).up()
    identity_id = f"{IDENTITIES}/adapter-demo"

    adopting = sandbox.stack("second", identity_program(credential=False, role=False, import_id=identity_id))
    adopted = adopting.up()

    assert adopted.summary.resource_changes == {"create": 1, "import": 1}
    assert adopted.outputs["clientId"].value == first.outputs["clientId"].value
    assert len(stand_in.resources(sandbox.cloud)) == 1


def test_tags_update_in_place_and_a_new_location_replaces_the_identity(sandbox: Sandbox) -> None:
    program = identity_program(credential=False, role=False, location="westeurope", tags={"team": "a"})
    created = sandbox.stack("dev", program).up()
    client_id = created.outputs["clientId"].value

    retagged = sandbox.stack("dev", identity_program(credential=False, role=False, tags={"team": "b"})).up()
    assert retagged.summary.resource_changes == {"same": 1, "update": 1}
    assert retagged.outputs["clientId"].value == client_id
    [identity] = stand_in.resources(sandbox.cloud)
    assert identity["outputs"]["tags"] == {"team": "b"}

    moved = sandbox.stack("dev", identity_program(credential=False, role=False, location="northeurope")).up()
    assert moved.summary.resource_changes == {"same": 1, "replace": 1}
    [identity] = stand_in.resources(sandbox.cloud)
    assert identity["outputs"]["location"] == "northeurope"
    assert identity["outputs"]["clientId"] == moved.outputs["clientId"].value != client_id


def test_refresh_forgets_an_identity_deleted_behind_pulumis_back(sandbox: Sandbox) -> None:
    stack = sandbox.stack("dev", identity_program(credential=False, role=False))
    client_id = stack.up().outputs["clientId"].value
    assert stand_in.delete_resource(sandbox.cloud, f"{IDENTITIES}/adapter-demo")

    assert stack.refresh().summary.resource_changes == {"same": 1, "delete": 1}
    recreated = stack.up()

    assert recreated.summary.resource_changes == {"same": 1, "create": 1}
    assert recreated.outputs["clientId"].value != client_id


@pytest.mark.parametrize(
    ("program", "message"),
    [
        pytest.param(
            raw_resource_program(stand_in.FEDERATED_CREDENTIAL, {"resourceGroupName": GROUP, "resourceName": "x"}),
            "missing required property 'issuer'",
            id="check-failure",
        ),
        pytest.param(
            raw_resource_program("azure-native:managedidentity:Unheard", {}),
            "Resource type azure-native:managedidentity:Unheard not found",
            id="unknown-type",
        ),
        pytest.param(
            raw_resource_program(stand_in.IDENTITY, {"resourceGroupName": "rg-gone", "resourceName": "x"}),
            "missing required property 'location'. Either set it explicitly or configure it",
            id="no-location-without-a-group",
        ),
    ],
)
def test_the_provider_refuses_invalid_inputs_at_preview(sandbox: Sandbox, program: Program, message: str) -> None:
    with pytest.raises(auto.CommandError) as failed:
        sandbox.stack("dev", program).preview()

    assert message in str(failed.value)


def test_a_missing_resource_group_fails_the_create_as_azure_does(sandbox: Sandbox) -> None:
    program = raw_resource_program(
        stand_in.IDENTITY, {"resourceGroupName": "rg-gone", "resourceName": "x", "location": "westeurope"}
    )

    with pytest.raises(auto.CommandError) as failed:
        sandbox.stack("dev", program).up()

    assert "ERROR CODE: ResourceGroupNotFound" in str(failed.value)
    assert stand_in.resources(sandbox.cloud) == []


def test_a_missing_cluster_fails_the_lookup(sandbox: Sandbox) -> None:
    stand_in.delete_resource(
        sandbox.cloud, f"{GROUP_ID}/providers/Microsoft.ContainerService/managedClusters/{CLUSTER}"
    )

    with pytest.raises(auto.CommandError) as failed:
        sandbox.stack("dev", identity_program(role=False)).preview()

    assert "ERROR CODE: ResourceNotFound" in str(failed.value)


def test_the_provider_needs_a_subscription(sandbox: Sandbox) -> None:
    env = {key: value for key, value in sandbox.env.items() if key != "ARM_SUBSCRIPTION_ID"}
    unconfigured = Sandbox(sandbox.cloud, sandbox.work, env)

    with pytest.raises(auto.CommandError) as failed:
        unconfigured.stack("dev", identity_program(credential=False, role=False)).preview()

    assert "A Subscription ID must be configured" in str(failed.value)


def test_the_subscription_can_come_from_stack_config(sandbox: Sandbox) -> None:
    env = {key: value for key, value in sandbox.env.items() if key != "ARM_SUBSCRIPTION_ID"}
    stack = Sandbox(sandbox.cloud, sandbox.work, env).stack("dev", identity_program(credential=False, role=False))
    stack.set_config("azure-native:subscriptionId", auto.ConfigValue(SUBSCRIPTION))

    assert stack.up().summary.resource_changes == {"create": 2}
    [identity] = stand_in.resources(sandbox.cloud)
    assert identity["id"] == f"{IDENTITIES}/adapter-demo"


def test_a_killed_engine_leaves_the_identity_in_azure_but_not_in_the_state(sandbox: Sandbox) -> None:
    program = identity_program(credential=False, role=False)
    held = sandbox.stack("dev", program, **{stand_in.HOLD_CREATE_ENV: stand_in.IDENTITY})

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(held.up)
        holding = _wait_for(lambda: stand_in.held(sandbox.cloud).get("adapter-demo"), running)
        assert [resource["id"] for resource in stand_in.resources(sandbox.cloud)] == [holding["id"]]
        os.kill(holding["engine_pid"], signal.SIGKILL)
        with pytest.raises(auto.CommandError):
            running.result(timeout=WAIT_SECONDS)
    _wait_for(lambda: not _alive(holding["plugin_pid"]))  # the orphaned plugin notices and exits
    assert stand_in.held(sandbox.cloud) == {}

    stack = sandbox.stack("dev", program)
    deployment = stack.export_stack().deployment
    assert deployment is not None
    assert stand_in.IDENTITY not in {resource["type"] for resource in deployment.get("resources", [])}
    assert [op["type"] for op in deployment.get("pending_operations", [])] == ["creating"]
    stack.cancel()  # the killed CLI left its lock behind
    with pytest.raises(auto.CommandError) as failed:
        stack.up()
    assert f"cannot create already existing resource '{holding['id']}'" in str(failed.value)


def test_a_released_create_completes_the_update(sandbox: Sandbox) -> None:
    held = sandbox.stack("dev", identity_program(role=False), **{stand_in.HOLD_CREATE_ENV: stand_in.IDENTITY})

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(held.up)
        _wait_for(lambda: stand_in.held(sandbox.cloud).get("adapter-demo"), running)
        assert not running.done()
        stand_in.release(sandbox.cloud, "adapter-demo")
        result = running.result(timeout=WAIT_SECONDS)

    assert result.summary.resource_changes == {"create": 3}
    assert stand_in.held(sandbox.cloud) == {}
    assert len(stand_in.resources(sandbox.cloud)) == 2


def test_the_plugin_cache_is_the_other_way_in(sandbox: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "cached-home"
    stand_in.install_in_plugin_cache(home)
    program = identity_program(credential=False, role=False)
    ambient = sandbox.stack("ambient", program)
    cached = sandbox.stack("cached", program, PULUMI_HOME=str(home), PULUMI_IGNORE_AMBIENT_PLUGINS="true")

    ambient_output: list[str] = []
    ambient.preview(on_output=ambient_output.append)
    cached_output: list[str] = []
    cached.preview(on_output=cached_output.append)

    assert "using pulumi-resource-azure-native from $PATH" in "\n".join(ambient_output)
    assert "from $PATH" not in "\n".join(cached_output)
    assert len({call["pid"] for call in stand_in.calls(sandbox.cloud) if call["method"] == "Configure"}) == 2


def _wait_for(condition: Callable[[], Any], running: concurrent.futures.Future[Any] | None = None) -> Any:
    """Until `condition` holds (returning its value), failing early when `running` ended instead."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if running is not None and running.done():
            running.result()
            pytest.fail("the update ended before the condition held")
        time.sleep(0.05)
    pytest.fail(f"not within {WAIT_SECONDS:.0f} s")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; whoever adopted it reaps it
