"""How traffic reaches an adapter: Services, NetworkPolicy, PodDisruptionBudget, Ingress."""

from __future__ import annotations

from typing import Any

from mcp_infra.names import selector_labels
from mcp_infra.render._context import RenderContext, kubernetes_resource
from mcp_infra.resources import RenderedResource


def service(ctx: RenderContext) -> RenderedResource:
    body = {
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(ctx.spec.name),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        }
    }
    return kubernetes_resource(ctx, "v1", "Service", ctx.names.service, body)


def headless_service(ctx: RenderContext) -> RenderedResource:
    body = {
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(ctx.spec.name),
            # A replica must reach a session's owner even while the owner is not ready.
            "publishNotReadyAddresses": True,
            "ports": [{"name": "http", "port": ctx.settings.port, "targetPort": "http", "protocol": "TCP"}],
        }
    }
    return kubernetes_resource(ctx, "v1", "Service", ctx.names.headless_service, body)


def _namespace_pods(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {"matchLabels": dict(labels)},
    }


def network_policy(ctx: RenderContext) -> RenderedResource:
    s = ctx.settings
    http = [{"protocol": "TCP", "port": s.port}]
    peers = {"podSelector": {"matchLabels": selector_labels(ctx.spec.name)}}
    sources = [
        _namespace_pods(s.ingress.controller_namespace, s.ingress.controller_pod_labels),
        _namespace_pods(s.control_plane.namespace, s.control_plane.pod_labels),
        peers,
    ]
    sources += [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}} for ns in s.metrics_namespaces
    ]
    egress: list[dict[str, Any]] = [
        {
            "to": [_namespace_pods(s.dns.namespace, s.dns.pod_labels)],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        {"to": [peers], "ports": http},
    ]
    for rule in s.egress:
        block: dict[str, Any] = {"cidr": rule.cidr}
        if rule.except_:
            block["except"] = list(rule.except_)
        egress.append(
            {"to": [{"ipBlock": block}], "ports": [{"protocol": rule.protocol, "port": p} for p in rule.ports]}
        )
    body = {
        "spec": {
            "podSelector": {"matchLabels": selector_labels(ctx.spec.name)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": sources, "ports": http}],
            "egress": egress,
        }
    }
    return kubernetes_resource(ctx, "networking.k8s.io/v1", "NetworkPolicy", ctx.names.network_policy, body)


def pod_disruption_budget(ctx: RenderContext) -> RenderedResource | None:
    if ctx.spec.replica_count < 2:
        # With one replica a PDB either blocks node drains forever or protects nothing.
        return None
    body = {"spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(ctx.spec.name)}}}
    return kubernetes_resource(ctx, "policy/v1", "PodDisruptionBudget", ctx.names.pod_disruption_budget, body)


def ingress(ctx: RenderContext) -> RenderedResource:
    s = ctx.settings
    values = {
        "adapter": ctx.spec.name,
        "path": ctx.path,
        "namespace": s.namespace,
        "verify_url": s.control_plane.verify_url,
    }
    annotations = {key: _fill(value, values) for key, value in s.ingress.annotations.items()}
    backend = {"service": {"name": ctx.names.service, "port": {"name": "http"}}}
    body = {
        "spec": {
            "ingressClassName": s.ingress.class_name,
            "tls": [{"hosts": [s.host], "secretName": s.tls_secret_name}],
            "rules": [
                {
                    "host": s.host,
                    "http": {"paths": [{"path": ctx.path, "pathType": "Exact", "backend": backend}]},
                }
            ],
        }
    }
    return kubernetes_resource(
        ctx,
        "networking.k8s.io/v1",
        "Ingress",
        ctx.names.ingress,
        body,
        annotations=annotations,
        depends_on=(f"Service/{ctx.names.service}",),
    )


def _fill(template: str, values: dict[str, str]) -> str:
    # Not str.format: annotation values (nginx snippets) may hold literal braces.
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template
