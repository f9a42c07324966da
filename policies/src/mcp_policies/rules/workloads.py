"""Replica counts stay within the platform's bounds."""

from __future__ import annotations

from collections.abc import Iterator

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule
from mcp_policies.view import Resource, mapping


@resource_rule("replica-bounds", "Workloads run between the platform's minimum and maximum replicas.", "advisory")
def replica_bounds(resource: Resource, config: PolicyConfig) -> Iterator[str]:
    if resource.kind not in ("StatefulSet", "Deployment"):
        return
    replicas = mapping(resource.inputs.get("spec")).get("replicas", 1)
    if not isinstance(replicas, int):
        return
    if replicas < config.min_replicas:
        yield f"replicas is {replicas}, below the platform minimum {config.min_replicas}: raise replicaCount"
    if replicas > config.max_replicas:
        yield f"replicas is {replicas}, above the platform maximum {config.max_replicas}: lower replicaCount"
