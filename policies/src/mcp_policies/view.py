"""One view of a resource, whether it comes from the render or from the Pulumi engine.

The render gives `RenderedResource`s whose inputs may hold deploy-time values
(`Ref`, `Lookup`); CrossGuard gives (type, name, props) with unknowns left out.
Rules read both through `Resource` and treat anything that is not plain data as
"not known yet", never as a violation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from mcp_infra.names import ADAPTER_TAG, APP_NAME
from mcp_infra.resources import RenderedAdapter, RenderedResource

from mcp_policies.findings import ResourceRef

INSTANCE_LABEL: Final = "app.kubernetes.io/instance"
NAME_LABEL: Final = "app.kubernetes.io/name"
_POD_TEMPLATE_KINDS: Final = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    inputs: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith("kubernetes:")

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(type=self.type, name=self.name)

    @property
    def metadata(self) -> Mapping[str, Any]:
        return mapping(self.inputs.get("metadata"))

    @property
    def labels(self) -> Mapping[str, Any]:
        return mapping(self.metadata.get("labels"))

    @property
    def annotations(self) -> Mapping[str, Any]:
        return mapping(self.metadata.get("annotations"))

    @property
    def namespace(self) -> str | None:
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) else None

    @property
    def adapter(self) -> str | None:
        """The adapter this resource belongs to, from its instance label or Azure tag; None for platform objects."""
        if self.is_kubernetes:
            value = self.labels.get(INSTANCE_LABEL) if self.labels.get(NAME_LABEL) == APP_NAME else None
        else:
            value = mapping(self.inputs.get("tags")).get(ADAPTER_TAG)
        return value if isinstance(value, str) else None

    def pod_spec(self) -> Mapping[str, Any] | None:
        spec = mapping(self.inputs.get("spec"))
        if self.kind == "Pod":
            return spec
        if self.kind == "CronJob":
            spec = mapping(mapping(spec.get("jobTemplate")).get("spec"))
        elif self.kind not in _POD_TEMPLATE_KINDS:
            return None
        return mapping(mapping(spec.get("template")).get("spec"))

    def pod_labels(self) -> Mapping[str, Any]:
        template = mapping(mapping(self.inputs.get("spec")).get("template"))
        return mapping(mapping(template.get("metadata")).get("labels"))

    def containers(self) -> Iterator[Mapping[str, Any]]:
        pod = self.pod_spec() or {}
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for container in listing(pod.get(key)):
                yield mapping(container)


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def listing(value: Any) -> list[Any]:
    # Any sequence but text: under the engine, pulumi_policy hands rules its own list proxies, not lists.
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) else []


ResourceLike = Resource | RenderedResource | tuple[str, str, Mapping[str, Any]]


def as_resources(items: Iterable[ResourceLike | RenderedAdapter]) -> list[Resource]:
    resources: list[Resource] = []
    for item in items:
        if isinstance(item, RenderedAdapter):
            resources.extend(Resource(r.type, r.name, r.inputs) for r in item.resources)
        elif isinstance(item, RenderedResource):
            resources.append(Resource(item.type, item.name, item.inputs))
        elif isinstance(item, Resource):
            resources.append(item)
        else:
            type_, name, inputs = item
            resources.append(Resource(type_, name, inputs))
    return resources
