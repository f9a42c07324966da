"""Platform settings: everything the render needs besides the adapter spec.

A plain pydantic model (camelCase JSON, like the adapter spec): the service maps
its own environment settings onto it, the platform program reads it from stack
config, and `PlatformSettings()` renders something deployable to a cluster with
ingress-nginx and the control plane in `mcp-system`.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from mcp_infra.trusted_servers import TrustedServers

DNS_LABEL: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DnsLabel = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL)]
Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")]

# ingress-nginx: SSE and streamable HTTP need unbuffered, long-lived responses;
# `upstream-hash-by` keeps a session on its owner replica most of the time (the
# bridge forwards the rest), and `auth-url` makes nginx ask the control plane
# whether the caller may use this adapter before a byte reaches it.
NGINX_ANNOTATIONS: Final = {
    "nginx.ingress.kubernetes.io/rewrite-target": "/mcp",
    "nginx.ingress.kubernetes.io/proxy-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-body-size": "8m",
    "nginx.ingress.kubernetes.io/upstream-hash-by": "$http_mcp_session_id",
    "nginx.ingress.kubernetes.io/auth-url": "{verify_url}?adapter={adapter}",
    # What /auth/verify answers with, passed on to the adapter (mcp-gateway names the user and roles so).
    "nginx.ingress.kubernetes.io/auth-response-headers": "X-Auth-Request-User,X-Mcp-UserId,X-Mcp-Roles",
}
# Everything outside the cluster and the VNet, HTTPS only. Private ranges stay
# closed (no lateral movement), and so does 169.254.0.0/16: the node's IMDS
# must not hand an adapter the node's identity.
PRIVATE_IPV4: Final = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]


class SettingsModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class IngressSettings(SettingsModel):
    class_name: str = "nginx"
    # Values may use {adapter}, {path}, {namespace} and {verify_url}.
    annotations: dict[str, str] = Field(default_factory=lambda: dict(NGINX_ANNOTATIONS))
    # The annotation that carries forward auth; the `ingress-forward-auth` policy looks for it.
    auth_annotation: str = "nginx.ingress.kubernetes.io/auth-url"
    controller_namespace: DnsLabel = "ingress-nginx"
    controller_pod_labels: dict[str, str] = Field(default_factory=lambda: {"app.kubernetes.io/name": "ingress-nginx"})


class ControlPlaneSettings(SettingsModel):
    service_name: DnsLabel = "mcp-adapters"
    namespace: DnsLabel = "mcp-system"
    port: int = Field(default=8000, ge=1, le=65535)
    verify_path: str = Field(default="/auth/verify", pattern=r"^/[^?#\s]*$")
    verify_url_override: str | None = Field(default=None, alias="verifyUrl")
    pod_labels: dict[str, str] = Field(
        default_factory=lambda: {
            "app.kubernetes.io/name": "mcp-adapters",
            "app.kubernetes.io/component": "control-plane",
        }
    )

    @property
    def verify_url(self) -> str:
        if self.verify_url_override:
            return self.verify_url_override
        return f"http://{self.service_name}.{self.namespace}.svc.cluster.local:{self.port}{self.verify_path}"


class EgressRule(SettingsModel):
    cidr: str
    except_: list[str] = Field(default_factory=list, alias="except")
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(default_factory=lambda: [443])
    protocol: Literal["TCP", "UDP"] = "TCP"
    description: str = ""


class DnsSettings(SettingsModel):
    namespace: DnsLabel = "kube-system"
    pod_labels: dict[str, str] = Field(default_factory=lambda: {"k8s-app": "kube-dns"})


class ResourceSettings(SettingsModel):
    requests: dict[str, Quantity] = Field(
        default_factory=lambda: {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "256Mi"}
    )
    limits: dict[str, Quantity] = Field(
        default_factory=lambda: {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "4Gi"}
    )


class RoleAssignmentSetting(SettingsModel):
    role_definition_id: str = Field(description="Full id: /subscriptions/<sub>/providers/Microsoft.Authorization/...")
    scope: str = Field(pattern=r"^/")
    adapters: list[str] = Field(default_factory=lambda: ["*"], description="Glob patterns of adapter names.")
    description: str = ""


class AzureSettings(SettingsModel):
    subscription_id: str | None = None
    tenant_id: str | None = None
    resource_group_name: str = "rg-mcp-adapters"
    location: str | None = None
    # The issuer of the cluster's service account tokens; when unset it is read
    # from the AKS cluster below at deploy time.
    oidc_issuer_url: str | None = Field(default=None, pattern=r"^https://")
    cluster_name: str = "aks-mcp-adapters"
    cluster_resource_group_name: str | None = None
    identity_name_prefix: str = Field(default="id-mcp-", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$")
    tags: dict[str, str] = Field(default_factory=dict)
    role_assignments: list[RoleAssignmentSetting] = Field(default_factory=list)


class PlatformSettings(SettingsModel):
    namespace: DnsLabel = "mcp-adapters"
    registry: str = Field(default="ghcr.io/mcp-adapters", pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")
    host: str = Field(default="mcp.example.com", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    tls_secret_name: str = "mcp-adapters-tls"  # noqa: S105 - a Secret's name, not its value
    port: int = Field(default=8000, ge=1024, le=65535)
    ingress: IngressSettings = Field(default_factory=IngressSettings)
    control_plane: ControlPlaneSettings = Field(default_factory=ControlPlaneSettings)
    dns: DnsSettings = Field(default_factory=DnsSettings)
    egress: list[EgressRule] = Field(
        default_factory=lambda: [
            EgressRule.model_validate({"cidr": "0.0.0.0/0", "except": PRIVATE_IPV4, "description": "public HTTPS"}),
            EgressRule.model_validate({"cidr": "::/0", "except": ["fc00::/7", "fe80::/10"], "description": "IPv6"}),
        ]
    )
    # Scrapers of /metrics (e.g. a Prometheus namespace); none by default.
    metrics_namespaces: list[DnsLabel] = Field(default_factory=list)
    resources: ResourceSettings = Field(default_factory=ResourceSettings)
    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(default=10, ge=1)
    run_as_user: int = Field(default=10001, ge=1)
    cache_size_limit: Quantity = "2Gi"
    # False marks Kubernetes objects `pulumi.com/skipAwait`: for the service's
    # reconciler, which watches readiness itself instead of blocking `pulumi up`.
    await_rollout: bool = True
    azure: AzureSettings = Field(default_factory=AzureSettings)
    allowed_registries: list[str] | None = Field(
        default=None, description="Registries images may come from; defaults to [registry]."
    )
    trusted_servers: TrustedServers = Field(default_factory=TrustedServers)

    @property
    def registries(self) -> list[str]:
        return self.allowed_registries if self.allowed_registries is not None else [self.registry]

    @model_validator(mode="after")
    def _consistent(self) -> PlatformSettings:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) is above maxReplicas ({self.max_replicas})")
        if self.namespace == self.control_plane.namespace:
            # Adapter objects are named after user-chosen adapter names; sharing the
            # namespace would let an adapter named like a control plane object shadow it.
            raise ValueError("namespace must differ from controlPlane.namespace")
        if re.fullmatch(r"[a-z0-9-]+-env", self.tls_secret_name):
            raise ValueError("tlsSecretName must not end in '-env': adapters' env Secrets are named <adapter>-env")
        return self
