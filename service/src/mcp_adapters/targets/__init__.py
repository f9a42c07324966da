"""Deployment targets: where adapters run. `local` (supervised processes) or `kubernetes` (Pulumi stacks)."""

from __future__ import annotations

from mcp_adapters.settings import Settings
from mcp_adapters.targets.base import Target


def make_target(settings: Settings) -> Target:
    if settings.target == "local":
        from mcp_adapters.targets.local import LocalTarget

        return LocalTarget(settings)
    from mcp_adapters.targets.kubernetes import KubernetesTarget

    return KubernetesTarget(settings)
