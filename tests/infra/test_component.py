"""The McpAdapter component under Pulumi mocks: the resource graph it registers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
from mcp_infra.component import McpAdapter
from mcp_infra.names import ADAPTER_TYPE_TOKEN
from mcp_infra.render import render_adapter
from mcp_infra.settings import AzureSettings, PlatformSettings, RoleAssignmentSetting
from mcp_infra.spec import AdapterSpec
from pulumi_mocks import ISSUER, Recorder, RecordingMonitor

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the engine marks a secret value on the wire


def deploy(*adapters: tuple[AdapterSpec, PlatformSettings | None]) -> tuple[Recorder, list[dict[str, Any]]]:
    """Run a program creating one McpAdapter per spec; returns what was registered and each component's outputs."""
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, preview=False, monitor=RecordingMonitor(recorder))
    outputs: list[dict[str, Any]] = []

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        components = [McpAdapter(spec.name, spec, settings) for spec, settings in adapters]
        values = [
            pulumi.Output.all(
                endpoint=c.endpoint,
                service_account=c.service_account_name,
                client_id=c.identity_client_id,
                principal_id=c.identity_principal_id,
            )
            for c in components
        ]
        return pulumi.Output.all(*values).apply(outputs.extend)

    program()
    return recorder, outputs


def children(recorder: Recorder) -> list[Any]:
    return [r for r in recorder.resources if r.type not in ("pulumi:pulumi:Stack", ADAPTER_TYPE_TOKEN)]


def short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def key(urn: str) -> str:
    """`Kind/name` of a URN, as the render names dependencies."""
    _, _, types, name = urn.split("::")
    return f"{types.rsplit(':', 1)[-1]}/{name}"


def test_every_rendered_resource_is_a_child_of_the_component_with_the_render_dependencies(example: AdapterSpec) -> None:
    recorder, _ = deploy((example, None))
    rendered = render_adapter(example)
    component = recorder.one("McpAdapter")
    assert component.type == ADAPTER_TYPE_TOKEN
    registered = {(r.type, r.name): r for r in children(recorder)}
    assert set(registered) == {(r.type, r.name) for r in rendered.resources}
    for resource in rendered.resources:
        child = registered[(resource.type, resource.name)]
        assert child.parent == component.urn, f"{resource.name} is not parented to the component"
        assert {key(u) for u in child.dependencies} >= set(resource.depends_on)


def test_kubernetes_inputs_are_the_rendered_manifests(example: AdapterSpec) -> None:
    recorder, _ = deploy((example, None))
    rendered = render_adapter(example)
    sts = recorder.one("StatefulSet").inputs
    expected = rendered.get("StatefulSet").plain_inputs()
    container, expected_container = (
        sts["spec"]["template"]["spec"]["containers"][0],
        expected["spec"]["template"]["spec"]["containers"][0],
    )
    assert container["image"] == "ghcr.io/mcp-adapters/mcp-proxy:1.0.0"
    assert container["env"] == expected_container["env"]
    assert container["securityContext"] == expected_container["securityContext"]
    assert sts["spec"]["selector"] == expected["spec"]["selector"]
    ingress = recorder.one("Ingress").inputs
    assert ingress["spec"] == rendered.get("Ingress").inputs["spec"]


def test_workload_identity_wires_the_identity_into_the_service_account_and_the_federated_credential() -> None:
    spec = AdapterSpec(name="ado-remote", image_name="mcp-proxy", image_version="1.0.0", use_workload_identity=True)
    recorder, (outputs,) = deploy((spec, None))
    identity = recorder.one("UserAssignedIdentity")
    sa = recorder.one("ServiceAccount").inputs
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == "client-id-mcp-ado-remote"
    assert identity.urn in recorder.one("ServiceAccount").dependencies
    credential = recorder.one("FederatedIdentityCredential")
    assert credential.inputs["issuer"] == ISSUER
    assert credential.inputs["subject"] == "system:serviceaccount:mcp-adapters:ado-remote-sa"
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert identity.urn in credential.dependencies
    assert recorder.calls == [
        (
            "azure-native:containerservice:getManagedCluster",
            {"resourceGroupName": "rg-mcp-adapters", "resourceName": "aks-mcp-adapters"},
        )
    ]
    assert credential.urn in recorder.one("StatefulSet").dependencies, "pods must not start before the credential"
    assert outputs == {
        "endpoint": "https://mcp.example.com/adapters/ado-remote/mcp",
        "service_account": "ado-remote-sa",
        "client_id": "client-id-mcp-ado-remote",
        "principal_id": "principal-id-mcp-ado-remote",
    }


def test_without_workload_identity_there_is_nothing_in_azure_and_no_identity_outputs() -> None:
    spec = AdapterSpec(name="internal-mcp", image_name="mcp-proxy", image_version="1.0.0")
    recorder, (outputs,) = deploy((spec, None))
    assert not [r for r in recorder.resources if r.type.startswith("azure-native:")]
    assert recorder.calls == []
    assert outputs["client_id"] is None
    assert outputs["principal_id"] is None
    labels = recorder.one("StatefulSet").inputs["spec"]["template"]["metadata"]["labels"]
    assert "azure.workload.identity/use" not in labels


def test_an_issuer_from_settings_needs_no_cluster_lookup() -> None:
    settings = PlatformSettings(azure=AzureSettings(oidc_issuer_url="https://issuer.example/abc/"))
    spec = AdapterSpec(name="a", image_name="mcp-proxy", image_version="1.0.0", use_workload_identity=True)
    recorder, _ = deploy((spec, settings))
    assert recorder.calls == []
    assert recorder.one("FederatedIdentityCredential").inputs["issuer"] == "https://issuer.example/abc/"


def test_role_assignments_go_to_the_adapter_identity_principal() -> None:
    role = RoleAssignmentSetting(
        role_definition_id="/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/r",
        scope="/subscriptions/s/resourceGroups/data",
        adapters=["ado-*"],
    )
    settings = PlatformSettings(azure=AzureSettings(role_assignments=[role]))
    wanted = AdapterSpec(name="ado-remote", image_name="mcp-proxy", image_version="1", use_workload_identity=True)
    other = AdapterSpec(name="foundry", image_name="mcp-proxy", image_version="1", use_workload_identity=True)
    recorder, _ = deploy((wanted, settings), (other, settings))
    (assignment,) = recorder.by_type("RoleAssignment")
    assert assignment.inputs["principalId"] == "principal-id-mcp-ado-remote"
    assert assignment.inputs["principalType"] == "ServicePrincipal"
    assert assignment.inputs["scope"] == "/subscriptions/s/resourceGroups/data"
    assert short(assignment.parent) == "ado-remote"


def test_secret_values_reach_the_engine_only_as_pulumi_secrets() -> None:
    spec = AdapterSpec(
        name="with-token",
        image_name="mcp-proxy",
        image_version="1.0.0",
        environment_variables={"MCP_COMMAND": "npx", "GITHUB_TOKEN": "ghp_very_secret"},
    )
    recorder, _ = deploy((spec, None))
    secret = recorder.one("Secret").inputs
    assert secret["stringData"][SECRET_SIG] == "1b47061264138c4ac30d75fd1eb44270"
    assert secret["stringData"]["value"] == {"GITHUB_TOKEN": "ghp_very_secret"}
    for resource in children(recorder):
        if resource.type != "kubernetes:core/v1:Secret":
            assert "ghp_very_secret" not in repr(resource.inputs), f"{resource.name} holds the secret in plain text"
    sts = recorder.one("StatefulSet")
    annotations = sts.inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations["mcp-adapters.io/env-secret-version"] == "42", "a secret change must roll the pods"
    assert recorder.one("Secret").urn in sts.dependencies


def test_many_adapters_in_one_program_never_share_a_resource() -> None:
    specs = [
        AdapterSpec(name=name, image_name="mcp-proxy", image_version="1", replica_count=2, use_workload_identity=True)
        for name in ("x", "x-peers", "x-svc", "x-sa")
    ]
    recorder, _ = deploy(*[(spec, None) for spec in specs])
    urns = [r.urn for r in recorder.resources]
    assert len(urns) == len(set(urns))
    physical = [
        (r.type, r.inputs.get("metadata", {}).get("name")) for r in children(recorder) if "kubernetes" in r.type
    ]
    assert len(physical) == len(set(physical))


@pytest.mark.parametrize("replicas", [1, 3])
def test_a_pod_disruption_budget_exists_only_with_several_replicas(replicas: int) -> None:
    spec = AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", replica_count=replicas)
    recorder, _ = deploy((spec, None))
    assert len(recorder.by_type("PodDisruptionBudget")) == (1 if replicas > 1 else 0)


def test_building_every_example_loads_no_sdk_module_lazily() -> None:
    # The service runs several adapters' programs at once, each in a thread; a lazily loaded SDK module
    # first touched by two of them is seen half-initialised (the real engine showed "no attribute
    # get_managed_cluster_output", then "pulumi_kubernetes.meta.v1 has no attribute ObjectMetaArgs").
    # Importing the deployer must load every module that building the examples' components touches.
    probe = (
        "import sys, types\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import mcp_infra.deploy\n"
        "def lazy():\n"
        "    return {n for n, m in sys.modules.items()\n"
        "            if n.startswith(('pulumi_kubernetes', 'pulumi_azure_native'))\n"
        "            and type(m) is not types.ModuleType}\n"
        "before = lazy()\n"
        "from mcp_infra.adapters_file import load_adapters\n"
        "from conftest import EXAMPLES\n"
        "from test_component import deploy\n"
        "deploy(*((load_adapters(p)[0], None) for p in EXAMPLES))\n"
        "print(sorted(before - lazy()))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]"
