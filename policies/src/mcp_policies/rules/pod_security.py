"""Pods that cannot escape their container: no privilege, no host access, not root, bounded."""

from __future__ import annotations

from collections.abc import Iterator

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule
from mcp_policies.view import Resource, listing, mapping

_HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


def _name(container: object) -> str:
    return str(mapping(container).get("name", "?"))


@resource_rule("no-privileged-containers", "Containers are not privileged and cannot escalate privileges.")
def no_privileged(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    for container in resource.containers():
        context = mapping(container.get("securityContext"))
        if context.get("privileged") is True:
            yield f"container {_name(container)} is privileged: remove securityContext.privileged"
        if context.get("allowPrivilegeEscalation") is not False:
            yield f"container {_name(container)} may escalate privileges: set allowPrivilegeEscalation: false"
        added = [c for c in listing(mapping(context.get("capabilities")).get("add")) if c != "NET_BIND_SERVICE"]
        if added:
            yield f"container {_name(container)} adds capabilities {added}: drop them (capabilities.drop: [ALL])"


@resource_rule("no-host-namespaces", "Pods share no namespace, port or filesystem with the node.")
def no_host_access(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    pod = resource.pod_spec()
    if pod is None:
        return
    for field in _HOST_NAMESPACES:
        if pod.get(field) is True:
            yield f"{field} is true: remove it, pods must not share the node's namespaces"
    for volume in listing(pod.get("volumes")):
        if "hostPath" in mapping(volume):
            yield f"volume {_name(volume)} is a hostPath: use an emptyDir, a ConfigMap or a PersistentVolumeClaim"
    for container in resource.containers():
        for port in listing(container.get("ports")):
            if mapping(port).get("hostPort"):
                yield f"container {_name(container)} binds hostPort {mapping(port)['hostPort']}: use a Service"


@resource_rule("run-as-non-root", "Containers run as a non-root user.")
def non_root(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    pod = resource.pod_spec()
    if pod is None:
        return
    pod_context = mapping(pod.get("securityContext"))
    for container in resource.containers():
        context = {**pod_context, **mapping(container.get("securityContext"))}
        if context.get("runAsNonRoot") is not True:
            yield f"container {_name(container)}: set securityContext.runAsNonRoot: true"
        if context.get("runAsUser") == 0:
            yield f"container {_name(container)} runs as UID 0: set runAsUser to a non-zero UID"


@resource_rule("resource-limits", "Containers declare CPU and memory requests and limits.")
def limits(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    for container in resource.containers():
        resources = mapping(container.get("resources"))
        for section in ("requests", "limits"):
            missing = [r for r in ("cpu", "memory") if r not in mapping(resources.get(section))]
            if missing:
                yield f"container {_name(container)} has no {section} for {', '.join(missing)}: set resources.{section}"


@resource_rule(
    "read-only-root-filesystem",
    "Containers write only to declared volumes.",
    default="advisory",
)
def read_only_root(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    for container in resource.containers():
        if mapping(container.get("securityContext")).get("readOnlyRootFilesystem") is not True:
            yield (
                f"container {_name(container)}: set securityContext.readOnlyRootFilesystem: true "
                "and mount an emptyDir where it needs to write"
            )
