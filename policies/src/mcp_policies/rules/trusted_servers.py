"""The trusted-servers allow-list applied to rendered pods."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mcp_infra.render import CACHE_ENV
from mcp_infra.spec import PLATFORM_ENV

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule
from mcp_policies.rules.images import split_image
from mcp_policies.trusted import POLICY, server_problems
from mcp_policies.view import Resource, listing, mapping

# What the render itself sets next to the adapter's own variables, or drops from them (CACHE_ENV only with the
# render's values).
_RENDERED: frozenset[str] = PLATFORM_ENV | {"MCP_BRIDGE_ALLOWED_HOSTS"}


@resource_rule(POLICY, "Adapters run only trusted images, commands, packages, environment and upstream hosts.")
def trusted_servers(resource: Resource, config: PolicyConfig) -> Iterator[str]:
    if resource.adapter is None:
        return  # only adapter workloads run MCP servers
    for container in resource.containers():
        image = container.get("image")
        repository = split_image(image)[0] if isinstance(image, str) else None
        yield from server_problems(repository, _adapter_env(container), config.trusted_servers)


def _adapter_env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's variables except the render's own; a value from a Secret counts by its name."""
    env: dict[str, str] = {}
    for item in listing(container.get("env")):
        entry = mapping(item)
        name, value = entry.get("name"), entry.get("value")
        if not isinstance(name, str) or name in _RENDERED or CACHE_ENV.get(name, object()) == value:
            continue
        env[name] = value if isinstance(value, str) else ""
    return env
