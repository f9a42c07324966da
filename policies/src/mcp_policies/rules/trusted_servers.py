"""The trusted-servers allow-list applied to rendered pods."""

from __future__ import annotations

from collections.abc import Iterator

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule
from mcp_policies.rules.images import split_image
from mcp_policies.trusted import POLICY, server_problems
from mcp_policies.view import Resource, listing, mapping

_SERVER_ENV = ("MCP_COMMAND", "MCP_ARGS", "MCP_PROXY_URL")


@resource_rule(POLICY, "Adapters run only trusted images, commands, packages and upstream hosts.")
def trusted_servers(resource: Resource, config: PolicyConfig) -> Iterator[str]:
    if resource.adapter is None:
        return  # only adapter workloads run MCP servers
    for container in resource.containers():
        image = container.get("image")
        repository = split_image(image)[0] if isinstance(image, str) else None
        env = {
            str(mapping(e).get("name")): mapping(e)["value"]
            for e in listing(container.get("env"))
            if mapping(e).get("name") in _SERVER_ENV and isinstance(mapping(e).get("value"), str)
        }
        yield from server_problems(repository, env, config.trusted_servers)
