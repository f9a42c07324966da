"""Secret-looking variables come from Secrets, never from plain values in a pod spec."""

from __future__ import annotations

from collections.abc import Iterator

from mcp_infra.spec import is_secret_name

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule
from mcp_policies.view import Resource, listing, mapping


@resource_rule("no-plain-secret-env", "Values of secret-looking variables come from a Secret (secretKeyRef).")
def no_plain_secret_env(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    for container in resource.containers():
        for entry in listing(container.get("env")):
            env = mapping(entry)
            name = env.get("name")
            if isinstance(name, str) and "value" in env and is_secret_name(name):
                yield (
                    f"container {container.get('name', '?')} sets {name} in plain text: "
                    "store it in a Secret and use valueFrom.secretKeyRef"
                )
