"""`McpAdapter`: the Pulumi component that deploys one adapter's render.

It adds nothing to the render: every child is a rendered resource, created
with the same name and inputs, parented to the component, in render order and
with the render's dependencies. Only what the render leaves to deploy time is
resolved here: `Ref`s become outputs of siblings, `Lookup`s become invokes and
`SecretValue`s become Pulumi secrets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s

from mcp_infra.render import render_adapter
from mcp_infra.render._azure import FEDERATED_CREDENTIAL_TYPE, GET_CLUSTER, IDENTITY_TYPE, ROLE_ASSIGNMENT_TYPE
from mcp_infra.resources import Lookup, Ref, RenderedAdapter, RenderedResource, SecretValue, map_values
from mcp_infra.settings import PlatformSettings
from mcp_infra.spec import AdapterSpec

TYPE_TOKEN: Final = "mcp-adapters:index:McpAdapter"  # noqa: S105 - a type token

_CONSTRUCTORS: Final[Mapping[str, Callable[..., pulumi.CustomResource]]] = {
    "kubernetes:core/v1:ServiceAccount": k8s.core.v1.ServiceAccount,
    "kubernetes:core/v1:Secret": k8s.core.v1.Secret,
    "kubernetes:core/v1:Service": k8s.core.v1.Service,
    "kubernetes:apps/v1:StatefulSet": k8s.apps.v1.StatefulSet,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": k8s.networking.v1.NetworkPolicy,
    "kubernetes:networking.k8s.io/v1:Ingress": k8s.networking.v1.Ingress,
    "kubernetes:policy/v1:PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
    IDENTITY_TYPE: azure_native.managedidentity.UserAssignedIdentity,
    FEDERATED_CREDENTIAL_TYPE: azure_native.managedidentity.FederatedIdentityCredential,
    ROLE_ASSIGNMENT_TYPE: azure_native.authorization.RoleAssignment,
}


def snake(name: str) -> str:
    """`clientId` -> `client_id`, `issuerURL` -> `issuer_url`: Python SDK names of Pulumi properties."""
    return re.sub(r"(?<=[a-z0-9])([A-Z]+)", r"_\1", name).lower()


class McpAdapter(pulumi.ComponentResource):
    """One adapter: its proxy StatefulSet, Services, NetworkPolicy, Ingress and (optionally) Azure identity."""

    endpoint: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    identity_client_id: pulumi.Output[str | None]
    identity_principal_id: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        spec: AdapterSpec,
        settings: PlatformSettings | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_TOKEN, resource_name, {"adapter": spec.name}, opts)
        self.rendered: RenderedAdapter = render_adapter(spec, settings)
        self.children: dict[str, pulumi.CustomResource] = {}
        for resource in self.rendered.resources:
            self.children[resource.name] = self._create(resource)

        identity = self.children.get(self.rendered.identity_name or "")
        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.endpoint = pulumi.Output.from_input(self.rendered.endpoint_url)
        self.service_account_name = pulumi.Output.from_input(self.rendered.service_account_name)
        self.identity_client_id = identity.client_id if identity is not None else none  # type: ignore[attr-defined]
        self.identity_principal_id = (
            identity.principal_id if identity is not None else none  # type: ignore[attr-defined]
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "serviceAccountName": self.service_account_name,
                "identityClientId": self.identity_client_id,
                "identityPrincipalId": self.identity_principal_id,
            }
        )

    def _create(self, resource: RenderedResource) -> pulumi.CustomResource:
        constructor = _CONSTRUCTORS.get(resource.type)
        if constructor is None:
            raise ValueError(f"McpAdapter cannot create {resource.type} ({resource.name}): no constructor known")
        inputs = map_values(resource.inputs, self._resolve)
        options = pulumi.ResourceOptions(
            parent=self,
            depends_on=[self.children[name] for name in resource.depends_on],
            additional_secret_outputs=["data", "stringData"] if resource.kind == "Secret" else None,
        )
        return constructor(resource.name, opts=options, **_kwargs(resource, inputs))

    def _resolve(self, value: Ref | Lookup | SecretValue) -> pulumi.Output[Any]:
        if isinstance(value, SecretValue):
            return pulumi.Output.secret(value.value)
        if isinstance(value, Ref):
            first, *rest = value.output.split(".")
            start = pulumi.Output.from_input(getattr(self.children[value.resource], snake(first)))
            return start.apply(lambda found: _dig(found, rest))
        return _lookup(value, self)


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


def _lookup(lookup: Lookup, parent: pulumi.Resource) -> pulumi.Output[Any]:
    if lookup.function != GET_CLUSTER:
        raise ValueError(f"McpAdapter cannot resolve {lookup.function}")
    args = dict(lookup.args)
    cluster = azure_native.containerservice.get_managed_cluster_output(
        resource_group_name=args["resourceGroupName"],
        resource_name=args["resourceName"],
        opts=pulumi.InvokeOptions(parent=parent),
    )
    first, *rest = lookup.output.split(".")
    return cluster.apply(lambda found: _dig(getattr(found, snake(first)), rest))
