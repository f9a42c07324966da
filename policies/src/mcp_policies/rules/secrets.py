"""Secret variables come from Secrets, never from plain values in a pod spec.

The rule sees pod specs, not adapter specs: it judges each plain variable with
`secret_names`, the decision `AdapterSpec.secret_names()` makes (names a caller
marked secret are deployed from a Secret by the render, so never plain here).
"""

from __future__ import annotations

from collections.abc import Iterator

from mcp_infra.secrets import is_secret_name, secret_names

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule
from mcp_policies.view import Resource, listing, mapping


@resource_rule("no-plain-secret-env", "Values of secret-looking variables come from a Secret (secretKeyRef).")
def no_plain_secret_env(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    for container in resource.containers():
        for entry in listing(container.get("env")):
            env = mapping(entry)
            name = env.get("name")
            if not isinstance(name, str) or "value" not in env:
                continue
            value = env["value"]
            # A value known only at deploy time is judged by its name.
            if secret_names({name: value}) if isinstance(value, str) else is_secret_name(name):
                yield (
                    f"container {container.get('name', '?')} sets {name} in plain text: "
                    "store it in a Secret and use valueFrom.secretKeyRef"
                )
