"""Turning rendered resources into Pulumi resources: the only place that knows the SDK classes.

Everything the render left to deploy time is resolved here: `Ref`s become
outputs of resources created before, `Lookup`s become invokes and
`SecretValue`s become Pulumi secrets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s

from mcp_infra.render._azure import FEDERATED_CREDENTIAL_TYPE, GET_CLUSTER, IDENTITY_TYPE, ROLE_ASSIGNMENT_TYPE
from mcp_infra.resources import Lookup, Ref, RenderedResource, SecretValue, map_values

# The SDKs load their modules lazily, and a lazy module loaded by two threads at once is seen half-initialised
# ("has no attribute get_managed_cluster_output"): the service runs several adapters' programs in threads.
# Loading now, once, everything building a component touches takes the race away (a test finds what is missing);
# through the package attributes, since that is what loads the lazy packages themselves (`pulumi_kubernetes.meta`).
_LOADED_BEFORE_ANY_PROGRAM: Final = (
    k8s.meta.v1.ObjectMetaArgs,
    azure_native.containerservice.get_managed_cluster_output,
)

_CONSTRUCTORS: Final[Mapping[str, Callable[..., pulumi.CustomResource]]] = {
    "kubernetes:core/v1:ServiceAccount": k8s.core.v1.ServiceAccount,
    "kubernetes:core/v1:Secret": k8s.core.v1.Secret,
    "kubernetes:core/v1:Service": k8s.core.v1.Service,
    "kubernetes:apps/v1:StatefulSet": k8s.apps.v1.StatefulSet,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": k8s.networking.v1.NetworkPolicy,
    "kubernetes:networking.k8s.io/v1:Ingress": k8s.networking.v1.Ingress,
    "kubernetes:policy/v1:PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
    "kubernetes:core/v1:Namespace": k8s.core.v1.Namespace,
    "kubernetes:core/v1:PersistentVolumeClaim": k8s.core.v1.PersistentVolumeClaim,
    "kubernetes:apps/v1:Deployment": k8s.apps.v1.Deployment,
    "kubernetes:rbac.authorization.k8s.io/v1:Role": k8s.rbac.v1.Role,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": k8s.rbac.v1.RoleBinding,
    IDENTITY_TYPE: azure_native.managedidentity.UserAssignedIdentity,
    FEDERATED_CREDENTIAL_TYPE: azure_native.managedidentity.FederatedIdentityCredential,
    ROLE_ASSIGNMENT_TYPE: azure_native.authorization.RoleAssignment,
}


def snake(name: str) -> str:
    """`clientId` -> `client_id`, `issuerURL` -> `issuer_url`: Python SDK names of Pulumi properties."""
    return re.sub(r"(?<=[a-z0-9])([A-Z]+)", r"_\1", name).lower()


class Deployer:
    """Creates rendered resources in order, all with the same parent and options; `created` is by key."""

    def __init__(self, parent: pulumi.Resource | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        self.parent = parent
        self.opts = opts or pulumi.ResourceOptions()
        self.created: dict[str, pulumi.CustomResource] = {}

    def create_all(self, resources: list[RenderedResource] | tuple[RenderedResource, ...]) -> None:
        for resource in resources:
            self.create(resource)

    def create(
        self, resource: RenderedResource, *, depends_on: list[pulumi.Resource] | None = None
    ) -> pulumi.CustomResource:
        constructor = _CONSTRUCTORS.get(resource.type)
        if constructor is None:
            raise ValueError(f"cannot create {resource.type} ({resource.name}): no constructor known")
        if resource.key in self.created:
            raise ValueError(f"{resource.key} is rendered twice")
        inputs = map_values(resource.inputs, self._resolve)
        options = pulumi.ResourceOptions.merge(
            self.opts,
            pulumi.ResourceOptions(
                parent=self.parent,
                depends_on=[*(depends_on or []), *(self.created[key] for key in resource.depends_on)],
                additional_secret_outputs=["data", "stringData"] if resource.kind == "Secret" else None,
            ),
        )
        created = constructor(resource.name, opts=options, **_kwargs(resource, inputs))
        self.created[resource.key] = created
        return created

    def _resolve(self, value: Ref | Lookup | SecretValue) -> pulumi.Output[Any]:
        if isinstance(value, SecretValue):
            return pulumi.Output.secret(value.value)
        if isinstance(value, Ref):
            first, *rest = value.output.split(".")
            start = pulumi.Output.from_input(getattr(self.created[value.resource], snake(first)))
            return start.apply(lambda found: _dig(found, rest))
        return _lookup(value, self.parent)


def _kwargs(resource: RenderedResource, inputs: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key, value in inputs.items():
        if resource.is_kubernetes and key in ("apiVersion", "kind"):
            continue  # the typed class sets them
        name = snake(key)
        # The Python SDK reserves `resource_name` for the Pulumi name; Azure's own becomes `resource_name_`.
        kwargs["resource_name_" if name == "resource_name" else name] = value
    return kwargs


def _dig(value: Any, path: list[str]) -> Any:
    for part in path:
        if value is None:
            return None
        # Outputs without a typed class are plain dicts with snake_case keys; typed output
        # objects subclass dict too but are read through snake_case properties.
        plain = type(value) is dict
        value = value.get(part, value.get(snake(part))) if plain else getattr(value, snake(part), None)
    return value


def _lookup(lookup: Lookup, parent: pulumi.Resource | None) -> pulumi.Output[Any]:
    if lookup.function != GET_CLUSTER:
        raise ValueError(f"McpAdapter cannot resolve {lookup.function}")
    args = dict(lookup.args)
    cluster = azure_native.containerservice.get_managed_cluster_output(
        resource_group_name=args["resourceGroupName"],
        resource_name=args["resourceName"],
        opts=pulumi.InvokeOptions(parent=parent),
    )
    first, *rest = lookup.output.split(".")
    resolved: pulumi.Output[Any] = cluster.apply(lambda found: _dig(getattr(found, snake(first)), rest))
    return resolved
