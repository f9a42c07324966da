"""Policy rules as plain functions over resource inputs; the CrossGuard pack wraps them.

    findings = evaluate(render_adapter(spec, settings).resources, PolicyConfig.from_settings(settings))

`evaluate` takes what the render produces, or (type, name, inputs) triples as
the Pulumi engine gives them, and returns one `Finding` per violation.
"""

from __future__ import annotations

from collections.abc import Iterable

from mcp_infra.resources import RenderedAdapter

from mcp_policies.config import PolicyConfig
from mcp_policies.findings import Enforcement, Finding, ResourceRef
from mcp_policies.rules import RULES, Rule
from mcp_policies.view import Resource, ResourceLike, as_resources

__all__ = ["RULES", "Enforcement", "Finding", "PolicyConfig", "Resource", "ResourceRef", "Rule", "evaluate"]


def evaluate(resources: Iterable[ResourceLike | RenderedAdapter], config: PolicyConfig | None = None) -> list[Finding]:
    config = config or PolicyConfig()
    views = as_resources(resources)
    findings: list[Finding] = []
    for rule in RULES:
        level = config.enforcement.get(rule.name, rule.default)
        if level == "disabled":
            continue
        for resource, message in rule.run(views, config):
            findings.append(Finding(policy=rule.name, enforcement=level, resource=resource.ref, message=message))
    return findings
