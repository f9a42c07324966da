"""Each rule catches a deliberately broken resource, and none fires on what the render produces."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp_infra.adapters_file import load_adapters
from mcp_infra.render import render_adapter
from mcp_infra.resources import RenderedResource
from mcp_infra.spec import AdapterSpec
from mcp_policies import RULES, PolicyConfig, evaluate
from mcp_policies.view import Resource

EXAMPLES = sorted((Path(__file__).parents[2] / "docs" / "examples").glob("*.json"))
SPEC = AdapterSpec(
    name="web",
    image_name="mcp-proxy",
    image_version="1.0.0",
    environment_variables={"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure/mcp@latest", "API_TOKEN": "t"},
    replica_count=2,
    use_workload_identity=True,
)
Mutation = Callable[[dict[str, Any]], None]


def container(inputs: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = inputs["spec"]["template"]["spec"]["containers"][0]
    return found


def pod(inputs: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = inputs["spec"]["template"]["spec"]
    return found


def broken(kind: str, mutate: Mutation, spec: AdapterSpec = SPEC) -> list[Resource]:
    resources = []
    for r in render_adapter(spec).resources:
        inputs = copy.deepcopy(dict(r.inputs))
        if r.kind == kind:
            mutate(inputs)
        resources.append(Resource(r.type, r.name, inputs))
    return resources


CASES: list[tuple[str, str, Mutation]] = [
    ("no-privileged-containers", "StatefulSet", lambda i: container(i)["securityContext"].update(privileged=True)),
    (
        "no-privileged-containers",
        "StatefulSet",
        lambda i: container(i)["securityContext"].pop("allowPrivilegeEscalation"),
    ),
    (
        "no-privileged-containers",
        "StatefulSet",
        lambda i: container(i)["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]),
    ),
    ("no-host-namespaces", "StatefulSet", lambda i: pod(i).update(hostNetwork=True)),
    ("no-host-namespaces", "StatefulSet", lambda i: pod(i)["volumes"].append({"name": "h", "hostPath": {"path": "/"}})),
    ("no-host-namespaces", "StatefulSet", lambda i: container(i)["ports"][0].update(hostPort=80)),
    (
        "run-as-non-root",
        "StatefulSet",
        lambda i: (pod(i)["securityContext"].pop("runAsNonRoot"), container(i)["securityContext"].pop("runAsNonRoot")),
    ),
    ("run-as-non-root", "StatefulSet", lambda i: pod(i)["securityContext"].update(runAsUser=0)),
    ("resource-limits", "StatefulSet", lambda i: container(i)["resources"].pop("limits")),
    (
        "read-only-root-filesystem",
        "StatefulSet",
        lambda i: container(i)["securityContext"].update(readOnlyRootFilesystem=False),
    ),
    ("allowed-registries", "StatefulSet", lambda i: container(i).update(image="docker.io/evil/mcp-proxy:1.0.0")),
    ("pinned-images", "StatefulSet", lambda i: container(i).update(image="ghcr.io/mcp-adapters/mcp-proxy:latest")),
    ("pinned-images", "StatefulSet", lambda i: container(i).update(image="ghcr.io/mcp-adapters/mcp-proxy")),
    ("ingress-tls", "Ingress", lambda i: i["spec"].pop("tls")),
    ("ingress-tls", "Ingress", lambda i: i["spec"]["rules"][0].update(host="other.example.com")),
    (
        "ingress-forward-auth",
        "Ingress",
        lambda i: i["metadata"]["annotations"].pop("nginx.ingress.kubernetes.io/auth-url"),
    ),
    (
        "ingress-forward-auth",
        "Ingress",
        lambda i: i["metadata"]["annotations"].update(
            {"nginx.ingress.kubernetes.io/auth-url": "http://cp/verify?adapter=other"}
        ),
    ),
    (
        "no-plain-secret-env",
        "StatefulSet",
        lambda i: container(i)["env"].append({"name": "DB_PASSWORD", "value": "hunter2"}),
    ),
    (
        "no-plain-secret-env",
        "StatefulSet",
        lambda i: container(i)["env"].append({"name": "SENTRY_DSN", "value": "https://k@o1.ingest.sentry.io/1"}),
    ),
    (
        "no-plain-secret-env",
        "StatefulSet",
        lambda i: container(i)["env"].append({"name": "DATABASE_URL", "value": "postgresql://u:p@h/db"}),
    ),
    ("federated-credential-audience", "FederatedIdentityCredential", lambda i: i.update(audiences=["api://other"])),
    (
        "federated-credential-subject",
        "FederatedIdentityCredential",
        lambda i: i.update(subject="system:serviceaccount:kube-system:default"),
    ),
    ("federated-credential-subject", "FederatedIdentityCredential", lambda i: i.update(resourceName="id-someone-else")),
    (
        "network-policy-per-adapter",
        "NetworkPolicy",
        lambda i: i["spec"]["podSelector"]["matchLabels"].update({"app.kubernetes.io/instance": "other"}),
    ),
    ("replica-bounds", "StatefulSet", lambda i: i["spec"].update(replicas=50)),
    ("trusted-servers", "StatefulSet", lambda i: container(i)["env"].append({"name": "MCP_COMMAND", "value": "bash"})),
    ("trusted-servers", "StatefulSet", lambda i: container(i).update(image="ghcr.io/mcp-adapters/shell:1.0.0")),
    # The CI path has no admission: the pack itself refuses variables that change what a trusted command runs.
    ("trusted-servers", "StatefulSet", lambda i: container(i)["env"].append({"name": "NODE_OPTIONS", "value": "-r x"})),
    ("trusted-servers", "StatefulSet", lambda i: container(i)["env"].append({"name": "PYTHONPATH", "value": "/x"})),
    (
        "trusted-servers",
        "StatefulSet",
        lambda i: container(i)["env"].append({"name": "HOME", "value": "/attacker"}),
    ),
]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_examples_pass_every_rule(path: Path) -> None:
    assert evaluate(render_adapter(load_adapters(path)[0])) == []


@pytest.mark.parametrize(("policy", "kind", "mutate"), CASES, ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_each_rule_catches_its_broken_resource(policy: str, kind: str, mutate: Mutation) -> None:
    findings = evaluate(broken(kind, mutate))
    assert [f.policy for f in findings] == [policy], [str(f) for f in findings]
    (finding,) = findings
    assert finding.resource.type.endswith(":" + kind) or kind == "NetworkPolicy"
    assert len(finding.message) > 20  # says what to change


def test_every_rule_has_a_broken_case() -> None:
    assert {rule.name for rule in RULES} == {case[0] for case in CASES} | {"identity-single-adapter"}


def test_an_identity_shared_by_two_adapters_is_caught() -> None:
    first, second = render_adapter(SPEC), render_adapter(SPEC.model_copy(update={"name": "other"}))
    shared: list[RenderedResource] = []
    for r in second.resources:
        if r.kind == "ServiceAccount":
            inputs = copy.deepcopy(dict(r.inputs))
            inputs["metadata"]["annotations"] = first.get("ServiceAccount").inputs["metadata"]["annotations"]
            r = RenderedResource(r.type, r.name, inputs, r.depends_on)
        shared.append(r)
    findings = evaluate([*first.resources, *shared])
    assert {f.policy for f in findings} == {"identity-single-adapter"}
    assert {f.resource.name for f in findings} == {"web-sa", "other-sa"}


def test_two_healthy_adapters_together_pass() -> None:
    assert evaluate([render_adapter(SPEC), render_adapter(SPEC.model_copy(update={"name": "other"}))]) == []


def test_enforcement_is_configurable_per_rule() -> None:
    resources = broken("StatefulSet", lambda i: i["spec"].update(replicas=50))
    (default,) = evaluate(resources)
    assert default.enforcement == "advisory"
    (raised,) = evaluate(resources, PolicyConfig(enforcement={"replica-bounds": "mandatory"}))
    assert raised.mandatory
    assert evaluate(resources, PolicyConfig(enforcement={"replica-bounds": "disabled"})) == []
    with pytest.raises(ValueError, match="unknown policies"):
        PolicyConfig(enforcement={"no-such-rule": "advisory"})


def test_engine_triples_are_judged_like_rendered_resources() -> None:
    resources = broken("StatefulSet", lambda i: container(i).update(image="docker.io/x:latest"))
    triples = [(r.type, r.name, r.inputs) for r in resources]
    assert evaluate(triples) == evaluate(resources)


def test_values_unknown_before_deployment_are_not_violations() -> None:
    def forget(inputs: dict[str, Any]) -> None:
        inputs.pop("subject")
        inputs.pop("audiences")

    assert evaluate(broken("FederatedIdentityCredential", forget)) == []


@pytest.mark.parametrize(("policy", "kind", "mutate"), CASES, ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_rules_read_the_engines_proxied_inputs_like_plain_ones(policy: str, kind: str, mutate: Mutation) -> None:
    # Under the engine, pulumi_policy hands each rule its own Mapping/Sequence proxies, not dicts and lists:
    # a rule that only knew `list` saw every list empty (false `ingress-tls`, a missed `trusted-servers`).
    from pulumi_policy.proxy import unknown_checking_proxy

    resources = broken(kind, mutate)
    proxied = [(r.type, r.name, unknown_checking_proxy(copy.deepcopy(dict(r.inputs)))) for r in resources]
    assert [f.policy for f in evaluate(proxied)] == [policy]


def test_plain_variables_that_carry_no_credential_pass_the_secret_rule() -> None:
    plain = [
        {"name": "PUBLIC_URL", "value": "https://example.com"},
        {"name": "DATABASE_URL", "value": "postgresql://db.internal/app"},
        {"name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/var/run/secrets/azure/tokens/azure-identity-token"},
        {"name": "AZURE_MCP_INCLUDE_PRODUCTION_CREDENTIALS", "value": "true"},
    ]
    resources = broken("StatefulSet", lambda i: container(i)["env"].extend(plain))
    assert [f for f in evaluate(resources) if f.policy == "no-plain-secret-env"] == []


def test_a_variable_the_caller_marks_secret_is_deployed_from_a_secret() -> None:
    env = {**SPEC.environment_variables, "LICENSE": "ABCD-1234", "DATABASE_URL": "postgresql://u:p@h/db"}
    marked = SPEC.model_copy(update={"environment_variables": env, "secret_environment_variables": ["LICENSE"]})
    rendered = render_adapter(marked)
    assert set(rendered.get("Secret").inputs["stringData"]) == {"API_TOKEN", "DATABASE_URL", "LICENSE"}
    assert [f for f in evaluate(rendered.resources) if f.policy == "no-plain-secret-env"] == []
