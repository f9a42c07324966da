"""The platform settings the service renders with: one place, so preview and deployment agree.

The base comes from `MCP_ADAPTERS_PLATFORM_SETTINGS_FILE` (the same camelCase
object the platform stack's `mcp-adapters:platform` config holds); the
service's own settings override what they also describe.
"""

from __future__ import annotations

from typing import Any

from mcp_infra.settings import PlatformSettings

from mcp_adapters.errors import ConfigurationError
from mcp_adapters.settings import Settings


def platform_settings(settings: Settings) -> PlatformSettings:
    base = PlatformSettings()
    if settings.platform_settings_file is not None:
        import yaml

        try:
            base = PlatformSettings.model_validate(yaml.safe_load(settings.platform_settings_file.read_text()))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"MCP_ADAPTERS_PLATFORM_SETTINGS_FILE: {exc}") from exc
    azure: dict[str, Any] = {
        field: value
        for field, value in (
            ("subscription_id", settings.azure_subscription_id),
            ("tenant_id", settings.azure_tenant_id),
            ("resource_group_name", settings.azure_resource_group),
            ("location", settings.azure_location),
        )
        if value
    }
    update: dict[str, Any] = {
        "min_replicas": settings.min_replicas,
        "max_replicas": settings.max_replicas,
        # The reconciler watches readiness itself; `pulumi up` must not block a worker on a rollout.
        "await_rollout": False,
        "azure": base.azure.model_copy(update=azure),
    }
    if settings.resolved_trusted_servers is not None:
        update["trusted_servers"] = settings.resolved_trusted_servers
    # model_copy skips validation: validate the result so a bad combination fails here, with its field names.
    return PlatformSettings.model_validate(base.model_copy(update=update).model_dump())
