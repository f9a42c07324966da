"""The CrossGuard pack: the same rules, run by the Pulumi engine on every preview and update.

Per-resource rules become `ResourceValidationPolicy`s (violations point at the
resource), cross-resource rules `StackValidationPolicy`s. The pack reads the
platform settings it checks against from the file named by
`MCP_ADAPTERS_POLICY_CONFIG` (JSON or YAML: `{"platform": <stack config
mcp-adapters:platform>, "enforcement": {"rule": "advisory"}}`); enforcement can
also be overridden per policy with `pulumi preview --policy-pack-config`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

import yaml
from mcp_infra.settings import PlatformSettings
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pydantic import BaseModel, ConfigDict, Field

from mcp_policies.config import PolicyConfig
from mcp_policies.findings import Enforcement
from mcp_policies.rules import RULES, Rule
from mcp_policies.view import Resource

PACK_NAME: Final = "mcp-adapters"
CONFIG_ENV: Final = "MCP_ADAPTERS_POLICY_CONFIG"


class PackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    enforcement: dict[str, Enforcement] = Field(default_factory=dict)

    def policy_config(self) -> PolicyConfig:
        return PolicyConfig.from_settings(self.platform, self.enforcement)


def load_config(path: str | os.PathLike[str] | None = None) -> PolicyConfig:
    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        return PackConfig().policy_config()
    text = Path(path).read_text(encoding="utf-8")
    data: Any = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    return PackConfig.model_validate(data or {}).policy_config()


def _resource_policy(rule: Rule, config: PolicyConfig, level: EnforcementLevel) -> ResourceValidationPolicy:
    check = rule.check_resource
    assert check is not None

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for message in check(Resource(args.resource_type, args.name, args.props), config):
            report(message, None)

    return ResourceValidationPolicy(rule.name, rule.description, validate, enforcement_level=level)


def _stack_policy(rule: Rule, config: PolicyConfig, level: EnforcementLevel) -> StackValidationPolicy:
    check = rule.check_stack
    assert check is not None

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        views = [Resource(r.resource_type, r.name, r.props) for r in args.resources]
        urns = {id(view): r.urn for view, r in zip(views, args.resources, strict=True)}
        for resource, message in check(views, config):
            report(message, urns.get(id(resource)))

    return StackValidationPolicy(rule.name, rule.description, validate, enforcement_level=level)


def build_policies(config: PolicyConfig) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    policies: list[ResourceValidationPolicy | StackValidationPolicy] = []
    for rule in RULES:
        level = EnforcementLevel(config.enforcement.get(rule.name, rule.default))
        if rule.check_resource is not None:
            policies.append(_resource_policy(rule, config, level))
        else:
            policies.append(_stack_policy(rule, config, level))
    return policies


def serve(config: PolicyConfig | None = None) -> None:
    """Run the pack's analyzer (blocks); what `policies/__main__.py` does under the Pulumi CLI."""
    PolicyPack(PACK_NAME, build_policies(config or load_config()))  # type: ignore[arg-type]
