"""The pure render: an adapter spec plus platform settings in, typed resource specs out.

No Pulumi calls and no I/O: the same function feeds `pulumi up`, the service's
preview, `mcp-adapters render` and the policy checks, so what is reviewed is
exactly what is deployed.
"""

from __future__ import annotations

from mcp_infra.render._azure import FEDERATED_CREDENTIAL_TYPE, IDENTITY_TYPE, identity_resources
from mcp_infra.render._context import RenderContext
from mcp_infra.render._documents import render_documents
from mcp_infra.render._network import headless_service, ingress, network_policy, pod_disruption_budget, service
from mcp_infra.render._workload import CACHE_ENV, env_secret, service_account, statefulset
from mcp_infra.resources import RenderedAdapter, RenderedResource
from mcp_infra.settings import PlatformSettings
from mcp_infra.spec import AdapterSpec

__all__ = [
    "CACHE_ENV",
    "RenderedAdapter",
    "RenderedResource",
    "render_adapter",
    "render_all",
    "render_documents",
]


def render_adapter(spec: AdapterSpec, settings: PlatformSettings | None = None) -> RenderedAdapter:
    """Every resource one adapter deploys, in an order that never starts pods unprotected or unauthenticated."""
    ctx = RenderContext(spec, settings or PlatformSettings())
    azure = identity_resources(ctx)
    policy = network_policy(ctx)
    secret = env_secret(ctx)
    # Pods start only once their network policy and (when used) federated credential exist.
    after = (policy.key, *(r.key for r in azure if r.type == FEDERATED_CREDENTIAL_TYPE))
    candidates: list[RenderedResource | None] = [
        *azure,
        policy,
        service_account(ctx),
        secret,
        headless_service(ctx),
        service(ctx),
        statefulset(ctx, secret, after),
        pod_disruption_budget(ctx),
        ingress(ctx),
    ]
    identity = next((r.name for r in azure if r.type == IDENTITY_TYPE), None)
    return RenderedAdapter(
        adapter=spec.name,
        namespace=ctx.settings.namespace,
        resources=tuple(r for r in candidates if r is not None),
        endpoint_url=ctx.endpoint_url,
        service_account_name=ctx.names.service_account,
        identity_name=identity,
    )


def render_all(specs: list[AdapterSpec], settings: PlatformSettings | None = None) -> list[RenderedAdapter]:
    """Render several adapters; refuses duplicate names, which would fight over the same objects."""
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ValueError(f"adapter {spec.name!r} is defined more than once")
        seen.add(spec.name)
    return [render_adapter(spec, settings) for spec in specs]
