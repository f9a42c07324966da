"""How strict the policies are, and the platform facts they check against."""

from __future__ import annotations

from mcp_infra.settings import IngressSettings, PlatformSettings
from mcp_infra.trusted_servers import TrustedServers
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from mcp_policies.findings import Enforcement

_DEFAULTS = PlatformSettings()


class PolicyConfig(BaseModel):
    """Per-rule enforcement overrides plus what the rules compare against.

    `PolicyConfig.from_settings(settings)` takes the registries, replica bounds,
    trusted servers and forward-auth annotation from the platform's settings, so
    the policies check the platform that is actually configured.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    enforcement: dict[str, Enforcement] = Field(default_factory=dict)
    allowed_registries: list[str] = Field(default_factory=lambda: list(_DEFAULTS.registries))
    min_replicas: int = Field(default=_DEFAULTS.min_replicas, ge=0)
    max_replicas: int = Field(default=_DEFAULTS.max_replicas, ge=1)
    trusted_servers: TrustedServers = Field(default_factory=TrustedServers)
    auth_annotation: str = IngressSettings().auth_annotation

    @model_validator(mode="after")
    def _known_rules(self) -> PolicyConfig:
        from mcp_policies.rules import RULES

        unknown = sorted(set(self.enforcement) - {rule.name for rule in RULES})
        if unknown:
            raise ValueError(f"unknown policies in enforcement: {', '.join(unknown)}")
        return self

    @classmethod
    def from_settings(
        cls, settings: PlatformSettings, enforcement: dict[str, Enforcement] | None = None
    ) -> PolicyConfig:
        return cls(
            enforcement=enforcement or {},
            allowed_registries=settings.registries,
            min_replicas=settings.min_replicas,
            max_replicas=settings.max_replicas,
            trusted_servers=settings.trusted_servers,
            auth_annotation=settings.ingress.auth_annotation,
        )
