"""What a reviewer reads in the render: every object the issue lists, wired together."""

from __future__ import annotations

import json
from typing import Any

import yaml
from mcp_infra.render import render_adapter, render_documents
from mcp_infra.resources import RenderedAdapter
from mcp_infra.settings import AzureSettings, IngressSettings, PlatformSettings
from mcp_infra.spec import AdapterSpec


def pod(rendered: RenderedAdapter) -> dict[str, Any]:
    return rendered.get("StatefulSet").plain_inputs()["spec"]["template"]


def env(rendered: RenderedAdapter) -> dict[str, Any]:
    return {e["name"]: e for e in pod(rendered)["spec"]["containers"][0]["env"]}


def test_every_example_renders_the_objects_a_platform_team_expects(example: AdapterSpec) -> None:
    rendered = render_adapter(example)
    kinds = [r.kind for r in rendered.resources]
    expected = ["NetworkPolicy", "ServiceAccount", "Service", "Service", "StatefulSet", "Ingress"]
    if example.use_workload_identity:
        expected = ["UserAssignedIdentity", "FederatedIdentityCredential", *expected]
    assert kinds == expected
    assert rendered.endpoint_url == f"https://mcp.example.com/adapters/{example.name}/mcp"


def test_the_pod_runs_the_proxy_image_locked_down() -> None:
    spec = AdapterSpec(name="a", image_name="mcp-proxy", image_version="1.2.3", replica_count=3)
    template = pod(render_adapter(spec, PlatformSettings(registry="contoso.azurecr.io/mcp")))
    container = template["spec"]["containers"][0]
    assert container["image"] == "contoso.azurecr.io/mcp/mcp-proxy:1.2.3"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/home/mcp", "/tmp"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert set(container["resources"]["limits"]) >= {"cpu", "memory"}


def test_secret_looking_values_move_to_a_secret_and_others_stay_plain() -> None:
    spec = AdapterSpec(
        name="gh",
        image_name="mcp-proxy",
        image_version="1",
        environment_variables={"MCP_COMMAND": "npx", "GITHUB_TOKEN": "ghp_x", "LOG_LEVEL": "debug"},
    )
    rendered = render_adapter(spec)
    variables = env(rendered)
    assert variables["GITHUB_TOKEN"] == {
        "name": "GITHUB_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "gh-env", "key": "GITHUB_TOKEN"}},
    }
    assert variables["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "debug"}
    secret = rendered.get("Secret")
    assert secret.plain_inputs()["stringData"] == {"GITHUB_TOKEN": "<redacted>"}
    assert "ghp_x" not in repr(rendered)
    assert "ghp_x" not in render_documents([spec]) + render_documents([spec], output="json")
    assert f"${{{secret.key}.metadata.resourceVersion}}" in json.dumps(pod(rendered)["metadata"])


def test_no_secret_means_no_secret_object() -> None:
    rendered = render_adapter(AdapterSpec(name="a", image_name="mcp-proxy", image_version="1"))
    assert rendered.find("Secret") == []
    assert "annotations" not in pod(rendered)["metadata"]


def test_the_bridge_learns_its_replica_id_and_how_to_reach_its_peers() -> None:
    rendered = render_adapter(AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", replica_count=2))
    variables = env(rendered)
    assert variables["MCP_BRIDGE_REPLICA_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    template = variables["MCP_BRIDGE_PEER_URL_TEMPLATE"]["value"]
    assert template == "http://{replica}.a-peers.mcp-adapters.svc.cluster.local:8000"
    headless = rendered.get("Service", "a-peers").inputs["spec"]
    assert headless["clusterIP"] == "None"
    assert rendered.get("StatefulSet").inputs["spec"]["serviceName"] == "a-peers"
    assert variables["PORT"]["value"] == "8000"


def test_platform_variables_win_over_the_users() -> None:
    spec = AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", environment_variables={"PORT": "9"})
    names = [e["name"] for e in pod(render_adapter(spec))["spec"]["containers"][0]["env"]]
    assert names.count("PORT") == 1
    assert env(render_adapter(spec))["PORT"]["value"] == "8000"


def test_an_adapter_cannot_route_its_replicas_sessions_elsewhere() -> None:
    # The bridge asks a listed peer before the template: a user's list would take over session routing.
    user = {"MCP_BRIDGE_PEERS": "a-1=http://elsewhere.example", "MCP_ADAPTERS_OWNER": "/not/the/platform"}
    spec = AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", environment_variables=user)
    assert not user.keys() & env(render_adapter(spec)).keys()


def test_the_server_is_told_exactly_which_variables_are_the_adapters() -> None:
    user = {"MCP_COMMAND": "npx", "MCP_ARGS": "-y x", "GITHUB_TOKEN": "t", "LOG_LEVEL": "debug", "PORT": "9"}
    spec = AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", environment_variables=user)
    listed = env(render_adapter(spec))["MCP_BRIDGE_SERVER_ENV"]["value"].split(",")
    # The adapter's own (the bridge keeps MCP_COMMAND/MCP_ARGS, the platform owns PORT) and the cache locations.
    cache = ["HOME", "NPM_CONFIG_CACHE", "NPM_CONFIG_UPDATE_NOTIFIER", "TMPDIR", "UV_CACHE_DIR", "XDG_CACHE_HOME"]
    assert listed == sorted(["GITHUB_TOKEN", "LOG_LEVEL", *cache])


def test_switching_workload_identity_changes_labels_but_never_the_selector() -> None:
    base = AdapterSpec(name="a", image_name="mcp-proxy", image_version="1")
    off, on = render_adapter(base), render_adapter(base.model_copy(update={"use_workload_identity": True}))
    assert "azure.workload.identity/use" not in pod(off)["metadata"]["labels"]
    assert pod(on)["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    for kind in ("StatefulSet", "Service", "NetworkPolicy"):
        assert json.dumps(off.get(kind).inputs["spec"].get("selector")) == json.dumps(
            on.get(kind).inputs["spec"].get("selector")
        )
        assert "azure.workload.identity/use" not in json.dumps(on.get(kind).inputs["spec"].get("selector"))
    sa = on.get("ServiceAccount").plain_inputs()
    assert (
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"]
        == "${UserAssignedIdentity/id-mcp-a.clientId}"
    )


def test_federated_credential_trusts_exactly_the_adapter_service_account() -> None:
    settings = PlatformSettings(namespace="team-a", azure=AzureSettings(oidc_issuer_url="https://issuer/x/"))
    rendered = render_adapter(
        AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", use_workload_identity=True), settings
    )
    credential = rendered.get("FederatedIdentityCredential").inputs
    assert credential["subject"] == "system:serviceaccount:team-a:a-sa"
    assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assert credential["issuer"] == "https://issuer/x/"
    assert credential["resourceName"] == rendered.get("UserAssignedIdentity").name


def test_the_ingress_is_tls_sse_friendly_and_asks_the_control_plane() -> None:
    rendered = render_adapter(AdapterSpec(name="a", image_name="mcp-proxy", image_version="1"))
    ingress = rendered.get("Ingress").inputs
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"] == (
        "http://mcp-adapters.mcp-system.svc.cluster.local:8000/auth/verify?adapter=a"
    )
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert ingress["spec"]["tls"] == [{"hosts": ["mcp.example.com"], "secretName": "mcp-adapters-tls"}]
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/adapters/a/mcp"
    assert path["backend"]["service"]["name"] == "a-svc"


def test_ingress_class_and_annotations_are_settings() -> None:
    settings = PlatformSettings(
        ingress=IngressSettings(class_name="traefik", annotations={"x/auth": "{verify_url}|{adapter}|{path}|{{keep}}"})
    )
    ingress = render_adapter(AdapterSpec(name="b", image_name="mcp-proxy", image_version="1"), settings)
    inputs = ingress.get("Ingress").inputs
    assert inputs["spec"]["ingressClassName"] == "traefik"
    assert inputs["metadata"]["annotations"] == {
        "x/auth": "http://mcp-adapters.mcp-system.svc.cluster.local:8000/auth/verify|b|/adapters/b/mcp|{{keep}}"
    }


def test_network_policy_admits_only_the_ingress_controller_the_control_plane_and_peers() -> None:
    policy = render_adapter(AdapterSpec(name="a", image_name="mcp-proxy", image_version="1")).get("NetworkPolicy")
    spec = policy.inputs["spec"]
    sources = spec["ingress"][0]["from"]
    namespaces = [
        s.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") for s in sources
    ]
    assert namespaces == ["ingress-nginx", "mcp-system", None]
    assert spec["egress"][0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    blocks = [to["ipBlock"] for rule in spec["egress"] for to in rule["to"] if "ipBlock" in to]
    assert "169.254.0.0/16" in blocks[0]["except"], "the node's metadata endpoint must stay closed"


def test_render_is_deterministic_and_documents_parse(example: AdapterSpec) -> None:
    assert render_documents([example]) == render_documents([example])
    docs = [d for d in yaml.safe_load_all(render_documents([example])) if d]
    assert docs == json.loads(render_documents([example], output="json"))
    kinds = {d.get("kind") or d["type"] for d in docs}
    assert "StatefulSet" in kinds
    if example.use_workload_identity:
        assert "azure-native:managedidentity:UserAssignedIdentity" in kinds


def test_the_ingress_passes_on_who_the_caller_is_as_the_verify_endpoint_says() -> None:
    from mcp_infra.render import render_adapter
    from mcp_infra.spec import AdapterSpec

    spec = AdapterSpec.model_validate({"name": "x", "imageName": "mcp-proxy", "imageVersion": "1"})
    (ingress,) = [r for r in render_adapter(spec).resources if r.kind == "Ingress"]
    passed = ingress.inputs["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-response-headers"]
    assert set(passed.split(",")) == {"X-Auth-Request-User", "X-Mcp-UserId", "X-Mcp-Roles"}
