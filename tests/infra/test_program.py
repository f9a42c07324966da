"""The platform program: namespaces, control plane, and the declared adapters, under mocks and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
from mcp_infra.adapters_file import load_adapters
from mcp_infra.platform.config import ControlPlaneConfig
from mcp_infra.platform.control_plane import control_plane, namespaces
from mcp_infra.platform.program import deploy_platform, read_adapters
from mcp_infra.settings import AzureSettings, PlatformSettings
from mcp_policies import evaluate
from pulumi_mocks import Recorder, RecordingMonitor

ROOT = Path(__file__).parents[2]
SETTINGS = PlatformSettings(azure=AzureSettings(subscription_id="0000"))
SHARED = ControlPlaneConfig(env={"MCP_ADAPTERS_PULUMI_BACKEND_URL": "azblob://stacks"})


def run(database_url: str | None = None) -> Recorder:
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, preview=False, monitor=RecordingMonitor(recorder))
    adapters = read_adapters(["docs/examples/*.json"], ROOT)

    @pulumi.runtime.test
    def program() -> Any:
        control = SHARED if database_url else ControlPlaneConfig()
        exports = deploy_platform(SETTINGS, adapters, control, database_url, "stacks-passphrase-x1")
        return pulumi.Output.from_input(exports["adapters"]).apply(lambda e: e)

    program()
    return recorder


def test_the_platform_deploys_namespaces_control_plane_and_every_declared_adapter() -> None:
    recorder = run()
    namespaces_ = {r.name for r in recorder.by_type("Namespace")}
    assert namespaces_ == {"mcp-adapters", "mcp-system"}
    adapters = {r.name for r in recorder.by_type("McpAdapter")}
    assert adapters == {"ado-remote", "azure-remote", "foundry-remote", "internal-mcp"}
    fence = {r.urn for r in recorder.by_type("NetworkPolicy") if r.name == "platform.default-deny"}
    fence |= {r.urn for r in recorder.by_type("Namespace") if r.name == "mcp-adapters"}
    assert len(fence) == 2
    for adapter in recorder.by_type("McpAdapter"):
        assert fence <= set(adapter.dependencies), f"{adapter.name} does not wait for its namespace and default-deny"
    deployment = recorder.one("Deployment").inputs
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}, "SQLite on a volume: never two pods"
    assert recorder.one("PersistentVolumeClaim")
    binding = recorder.one("RoleBinding").inputs
    assert binding["metadata"]["namespace"] == "mcp-adapters"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "mcp-adapters", "namespace": "mcp-system"}]


def test_a_database_url_becomes_a_secret_not_plain_env() -> None:
    recorder = run("postgresql://u:pw@db/mcp")
    assert not recorder.by_type("PersistentVolumeClaim")
    container = recorder.one("Deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    database = next(e for e in container["env"] if e["name"] == "DATABASE_URL")
    assert "secretKeyRef" in database["valueFrom"]
    passphrase = next(e for e in container["env"] if e["name"] == "MCP_ADAPTERS_PULUMI_CONFIG_PASSPHRASE")
    assert "secretKeyRef" in passphrase["valueFrom"]
    assert "pw@db" not in repr(recorder.one("Deployment").inputs)
    assert "stacks-passphrase-x1" not in repr(recorder.one("Deployment").inputs)


def test_a_shared_database_without_a_shared_stack_backend_is_refused() -> None:
    # The state directory is an emptyDir then: stacks in a file:// backend there would be lost on restart.
    with pytest.raises(ValueError, match="MCP_ADAPTERS_PULUMI_BACKEND_URL"):
        control_plane(SETTINGS, ControlPlaneConfig(), "postgresql://u:pw@db/mcp")


def test_a_shared_database_without_one_key_for_the_stacks_secrets_is_refused() -> None:
    # Each pod would generate its own passphrase into its emptyDir and lose it on restart.
    with pytest.raises(ValueError, match="stacksPassphrase"):
        control_plane(SETTINGS, SHARED, "postgresql://u:pw@db/mcp")
    vault = {**SHARED.env, "MCP_ADAPTERS_PULUMI_SECRETS_PROVIDER": "azurekeyvault://v.vault.azure.net/keys/k"}
    assert control_plane(SETTINGS, ControlPlaneConfig(env=vault), "postgresql://u:pw@db/mcp")


def test_the_control_plane_gets_time_to_finish_a_running_update_on_shutdown() -> None:
    (deployment,) = [r for r in control_plane(SETTINGS, ControlPlaneConfig(), None) if r.kind == "Deployment"]
    pod = deployment.inputs["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert pod["terminationGracePeriodSeconds"] > int(env["MCP_ADAPTERS_SHUTDOWN_GRACE_SECONDS"])
    assert env["MCP_ADAPTERS_PULUMI_HOME"].startswith("/var/lib/mcp-adapters/")


def test_mcp_clients_are_sent_to_the_sign_in_metadata_on_the_public_host() -> None:
    def public_url(config: ControlPlaneConfig) -> str | None:
        (deployment,) = [r for r in control_plane(SETTINGS, config, None) if r.kind == "Deployment"]
        env = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
        return next((e["value"] for e in env if e["name"] == "MCP_ADAPTERS_PUBLIC_URL"), None)

    (ingress,) = [r for r in control_plane(SETTINGS, ControlPlaneConfig(), None) if r.kind == "Ingress"]
    (rule,) = ingress.inputs["spec"]["rules"]
    assert rule["http"]["paths"][0]["path"] == "/"  # /.well-known/oauth-protected-resource/... reaches it
    assert public_url(ControlPlaneConfig()) == f"https://{rule['host']}"
    assert public_url(ControlPlaneConfig(env={"MCP_ADAPTERS_PUBLIC_URL": "https://mcp.example.org"})) == (
        "https://mcp.example.org"
    )


def test_the_control_plane_can_manage_exactly_what_adapters_are_made_of() -> None:
    (role,) = [r for r in control_plane(SETTINGS, ControlPlaneConfig(), None) if r.kind == "Role"]
    granted = {res for rule in role.inputs["rules"] for res in rule["resources"] if "create" in rule["verbs"]}
    assert granted == {
        "serviceaccounts",
        "services",
        "secrets",
        "statefulsets",
        "networkpolicies",
        "ingresses",
        "poddisruptionbudgets",
    }
    assert not any("roles" in r or "rolebindings" in r for r in granted), "no privilege escalation through RBAC"


def test_the_control_plane_may_read_the_cluster_whose_issuer_its_adapters_look_up() -> None:
    from mcp_infra.render._azure import GET_CLUSTER

    cluster = "/subscriptions/0000/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks"
    reader = (
        "/subscriptions/0000/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    )
    azure = AzureSettings(subscription_id="0000", cluster_name="aks", cluster_resource_group_name="rg-aks")
    resources = control_plane(PlatformSettings(azure=azure), ControlPlaneConfig(), None)
    credential = next(r for r in resources if r.kind == "FederatedIdentityCredential")
    assert credential.inputs["issuer"].function == GET_CLUSTER  # the lookup needs managedClusters/read
    grants = {r.name: r.inputs for r in resources if r.kind == "RoleAssignment"}
    assert grants["control-plane-cluster-reader"]["scope"] == cluster
    assert grants["control-plane-cluster-reader"]["roleDefinitionId"] == reader
    assert grants["control-plane-role-0"]["scope"] == "/subscriptions/0000/resourceGroups/rg-mcp-adapters"

    issuer = azure.model_copy(update={"oidc_issuer_url": "https://westeurope.oic.prod-aks.azure.com/t/c/"})
    resources = control_plane(PlatformSettings(azure=issuer), ControlPlaneConfig(), None)
    assert "control-plane-cluster-reader" not in {r.name for r in resources}, "nothing to look up, nothing to read"


def test_the_platform_objects_pass_the_pack() -> None:
    resources = [*namespaces(SETTINGS), *control_plane(SETTINGS, ControlPlaneConfig(), None)]
    assert evaluate(resources) == []


def test_adapters_files_that_match_nothing_or_collide_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="matches no file"):
        read_adapters(["nothing/*.yaml"], tmp_path)
    (tmp_path / "a.json").write_text((ROOT / "docs/examples/internal-mcp.json").read_text())
    (tmp_path / "b.json").write_text((ROOT / "docs/examples/internal-mcp.json").read_text())
    with pytest.raises(ValueError, match="defined in both"):
        read_adapters(["*.json"], tmp_path)


def test_the_example_stack_config_is_valid_platform_settings() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    settings = PlatformSettings.model_validate(config["mcp-adapters:platform"])
    ControlPlaneConfig.model_validate(config["mcp-adapters:controlPlane"])
    from mcp_policies import PolicyConfig
    from mcp_policies.trusted import check_trusted

    for path in sorted((ROOT / "docs/examples").glob("*.json")):
        spec = load_adapters(path)[0]
        assert check_trusted(spec, settings.trusted_servers) == [], path.name
    assert PolicyConfig.from_settings(settings).allowed_registries == ["contoso.azurecr.io/mcp"]
