"""What every part of one adapter's render shares: spec, settings, names, labels."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mcp_infra.names import AdapterNames, common_labels
from mcp_infra.resources import RenderedResource, k8s_type
from mcp_infra.settings import PlatformSettings
from mcp_infra.spec import AdapterSpec

SKIP_AWAIT = "pulumi.com/skipAwait"


@dataclass(frozen=True)
class RenderContext:
    spec: AdapterSpec
    settings: PlatformSettings

    @cached_property
    def names(self) -> AdapterNames:
        return AdapterNames.of(self.spec.name, self.settings.azure.identity_name_prefix)

    @cached_property
    def image(self) -> str:
        return f"{self.settings.registry}/{self.spec.image_name}:{self.spec.image_version}"

    @cached_property
    def labels(self) -> dict[str, str]:
        return common_labels(self.spec.name, self.spec.image_version)

    @cached_property
    def object_annotations(self) -> dict[str, str]:
        return {} if self.settings.await_rollout else {SKIP_AWAIT: "true"}

    @property
    def path(self) -> str:
        return f"/adapters/{self.spec.name}/mcp"

    @property
    def endpoint_url(self) -> str:
        return f"https://{self.settings.host}{self.path}"

    @property
    def service_host(self) -> str:
        return f"{self.names.service}.{self.settings.namespace}.svc.cluster.local"

    @cached_property
    def allowed_hosts(self) -> list[str]:
        """Every Host header the adapter is legitimately reached with: ingress, Service, peers.

        Peers are one wildcard rather than a list so that scaling does not change
        the pod template (and restart every replica).
        """
        ns, names = self.settings.namespace, self.names
        peers = f"*.{names.headless_service}.{ns}.svc.cluster.local"
        return [self.settings.host, names.service, f"{names.service}.{ns}", self.service_host, peers]


def kubernetes_resource(
    ctx: RenderContext,
    api_version: str,
    kind: str,
    name: str,
    body: dict[str, Any],
    *,
    annotations: dict[str, Any] | None = None,
    depends_on: tuple[str, ...] = (),
) -> RenderedResource:
    metadata: dict[str, Any] = {"name": name, "namespace": ctx.settings.namespace, "labels": dict(ctx.labels)}
    all_annotations = {**(annotations or {}), **ctx.object_annotations}
    if all_annotations:
        metadata["annotations"] = all_annotations
    manifest = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}
    return RenderedResource(k8s_type(api_version, kind), name, manifest, depends_on)


def restricted_container_security() -> dict[str, Any]:
    """The container securityContext of everything the platform runs (Pod Security "restricted", read-only root).

    A fresh dict each time: manifests are plain data that callers may extend.
    """
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
