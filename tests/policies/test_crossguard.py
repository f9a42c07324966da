"""The CrossGuard pack runs the same rules as `evaluate`, wired the way the engine calls them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from mcp_infra.render import render_adapter
from mcp_infra.spec import AdapterSpec
from mcp_policies import RULES, evaluate
from mcp_policies.crossguard import CONFIG_ENV, build_policies, load_config
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

ROOT = Path(__file__).parents[2]
SPEC = AdapterSpec(name="web", image_name="mcp-proxy", image_version="1.0.0", use_workload_identity=True)


def urn(kind: str, name: str) -> str:
    return f"urn:pulumi:dev::mcp-adapters::mcp-adapters:index:McpAdapter${kind}::{name}"


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def engine_view(resources: list[tuple[str, str, dict[str, Any]]]) -> list[PolicyResource]:
    return [PolicyResource(t, props, urn(t, n), n, options(), None, None, [], {}) for t, n, props in resources]


def run_pack(resources: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[str, str, str | None]]:
    """Every violation the pack reports, as (policy, message, urn) - what the engine would print."""
    reported: list[tuple[str, str, str | None]] = []
    for policy in build_policies(load_config()):
        if isinstance(policy, ResourceValidationPolicy):
            for t, n, props in resources:
                target = urn(t, n)
                args = ResourceValidationArgs(t, props, target, n, options(), None)
                policy.validate(args, lambda m, u, p=policy.name, r=target: reported.append((p, m, u or r)))
        else:
            args = StackValidationArgs(engine_view(resources))
            policy.validate(args, lambda m, u, p=policy.name: reported.append((p, m, u)))
    return reported


def plain(spec: AdapterSpec) -> list[tuple[str, str, dict[str, Any]]]:
    # The engine sees resolved values; unknown ones (client ids before creation) are simply absent.
    return [(r.type, r.name, copy.deepcopy(r.plain_inputs(lambda _: None))) for r in render_adapter(spec).resources]


def test_one_policy_per_rule_with_its_default_enforcement() -> None:
    policies = build_policies(load_config())
    assert [(p.name, p.enforcement_level) for p in policies] == [
        (rule.name, EnforcementLevel(rule.default)) for rule in RULES
    ]


def test_a_healthy_adapter_passes_the_pack() -> None:
    assert run_pack(plain(SPEC)) == []


def test_the_pack_reports_what_evaluate_reports_and_points_at_the_resource() -> None:
    resources = plain(SPEC)
    for t, _, props in resources:
        if t.endswith(":StatefulSet"):
            props["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.io/x:latest"
        if t.endswith(":FederatedIdentityCredential"):
            props["subject"] = "system:serviceaccount:kube-system:default"
    reported = run_pack(resources)
    expected = evaluate(resources)
    assert sorted((p, m) for p, m, _ in reported) == sorted((f.policy, f.message) for f in expected)
    assert {p for p, _, _ in reported} == {
        "allowed-registries",
        "pinned-images",
        "federated-credential-subject",
        "trusted-servers",
    }
    subject = next(u for p, _, u in reported if p == "federated-credential-subject")
    assert subject == urn("azure-native:managedidentity:FederatedIdentityCredential", "fic-web")


def test_the_pack_reads_platform_settings_and_enforcement_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(
        json.dumps(
            {
                "platform": {"registry": "contoso.azurecr.io", "maxReplicas": 3},
                "enforcement": {"replica-bounds": "mandatory"},
            }
        )
    )
    monkeypatch.setenv(CONFIG_ENV, str(path))
    config = load_config()
    assert config.allowed_registries == ["contoso.azurecr.io"]
    assert config.max_replicas == 3
    levels = {p.name: p.enforcement_level for p in build_policies(config)}
    assert levels["replica-bounds"] == EnforcementLevel.MANDATORY
