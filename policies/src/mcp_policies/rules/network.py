"""Every adapter's pods are covered by a NetworkPolicy of their own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import stack_rule
from mcp_policies.view import Resource, mapping


def _selects(policy: Resource, labels: dict[str, str], namespace: str | None) -> bool:
    if policy.namespace != namespace:
        return False
    selector = mapping(mapping(policy.inputs.get("spec")).get("podSelector"))
    match = mapping(selector.get("matchLabels"))
    if selector.get("matchExpressions"):
        return False  # too clever to judge: ask for a plain matchLabels selector
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


@stack_rule("network-policy-per-adapter", "Every adapter workload is selected by a NetworkPolicy of its adapter.")
def network_policy(resources: Sequence[Resource], _: PolicyConfig) -> Iterator[tuple[Resource, str]]:
    policies = [r for r in resources if r.is_kubernetes and r.kind == "NetworkPolicy"]
    for workload in resources:
        if not workload.is_kubernetes or workload.pod_spec() is None or workload.adapter is None:
            continue
        labels = {k: v for k, v in workload.pod_labels().items() if isinstance(v, str)}
        own = [p for p in policies if p.adapter == workload.adapter and _selects(p, labels, workload.namespace)]
        if not own:
            yield (
                workload,
                (
                    f"no NetworkPolicy of adapter {workload.adapter} selects its pods: "
                    "add one limiting ingress to the ingress controller and control plane"
                ),
            )
