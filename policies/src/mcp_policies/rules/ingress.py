"""Adapter endpoints are only reachable over TLS and after the control plane said yes."""

from __future__ import annotations

from collections.abc import Iterator

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule
from mcp_policies.view import Resource, listing, mapping


def _is_ingress(resource: Resource) -> bool:
    return resource.is_kubernetes and resource.kind == "Ingress"


@resource_rule("ingress-tls", "Every host of an Ingress is served over TLS.")
def ingress_tls(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    if not _is_ingress(resource):
        return
    spec = mapping(resource.inputs.get("spec"))
    covered = {h for t in listing(spec.get("tls")) for h in listing(mapping(t).get("hosts"))}
    hosts = [mapping(rule).get("host") for rule in listing(spec.get("rules"))]
    if not listing(spec.get("tls")):
        yield "the Ingress has no TLS: add spec.tls with the host and a certificate Secret"
        return
    for host in hosts:
        if host is None:
            yield "a rule has no host, so TLS cannot cover it: set rules[].host"
        elif isinstance(host, str) and host not in covered:
            yield f"host {host} is not in spec.tls[].hosts: add it"


@resource_rule("ingress-forward-auth", "Every adapter Ingress asks the control plane to authorize each request.")
def ingress_auth(resource: Resource, config: PolicyConfig) -> Iterator[str]:
    # The control plane's own API authenticates callers itself; adapters rely on this check.
    if not _is_ingress(resource) or resource.adapter is None:
        return
    value = resource.annotations.get(config.auth_annotation)
    if not isinstance(value, str) or not value.strip():
        yield f"the Ingress has no {config.auth_annotation} annotation: point it at the control plane's verify URL"
    elif resource.adapter and f"adapter={resource.adapter}" not in value:
        yield f"{config.auth_annotation} does not name adapter {resource.adapter}: add ?adapter={resource.adapter}"
