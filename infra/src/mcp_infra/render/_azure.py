"""Azure workload identity: one UserAssignedIdentity per adapter, its federated credential, its roles.

One identity per adapter keeps privileges apart and stays far below Azure's
limit of 20 federated credentials per identity.
"""

from __future__ import annotations

import uuid
from fnmatch import fnmatchcase
from typing import Any, Final

from mcp_infra.names import ADAPTER_TAG, MANAGED_BY, PART_OF
from mcp_infra.render._context import RenderContext
from mcp_infra.resources import Lookup, Ref, RenderedResource
from mcp_infra.settings import AzureSettings

IDENTITY_TYPE: Final = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED_CREDENTIAL_TYPE: Final = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT_TYPE: Final = "azure-native:authorization:RoleAssignment"
GET_CLUSTER: Final = "azure-native:containerservice:getManagedCluster"
TOKEN_EXCHANGE_AUDIENCE: Final = "api://AzureADTokenExchange"  # noqa: S105 - a fixed audience
# Role assignment names are GUIDs; deriving them keeps re-renders identical.
_ROLE_ASSIGNMENT_NAMESPACE: Final = uuid.UUID("6f1c2a9e-4d1b-5b7e-9a43-3c2f8e1d0b57")


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def issuer(azure: AzureSettings) -> str | Lookup:
    """The cluster's service account token issuer: from settings, else read from the AKS cluster."""
    if azure.oidc_issuer_url:
        return azure.oidc_issuer_url
    group = azure.cluster_resource_group_name or azure.resource_group_name
    args = (("resourceGroupName", group), ("resourceName", azure.cluster_name))
    return Lookup(GET_CLUSTER, args, "oidcIssuerProfile.issuerURL")


def identity_resources(ctx: RenderContext) -> list[RenderedResource]:
    if not ctx.spec.use_workload_identity:
        return []
    azure, names = ctx.settings.azure, ctx.names
    tags = {
        **azure.tags,
        ADAPTER_TAG: ctx.spec.name,
        "mcp-adapters/namespace": ctx.settings.namespace,
        "managed-by": MANAGED_BY,
        "part-of": PART_OF,
    }
    identity_inputs: dict[str, Any] = {
        "resourceGroupName": azure.resource_group_name,
        "resourceName": names.identity,
        "tags": tags,
    }
    if azure.location:
        identity_inputs["location"] = azure.location
    identity = RenderedResource(IDENTITY_TYPE, names.identity, identity_inputs)
    resources = [identity]
    credential = {
        "resourceGroupName": azure.resource_group_name,
        "resourceName": names.identity,
        "federatedIdentityCredentialResourceName": names.federated_credential,
        "issuer": issuer(azure),
        "subject": service_account_subject(ctx.settings.namespace, names.service_account),
        "audiences": [TOKEN_EXCHANGE_AUDIENCE],
    }
    resources.append(
        RenderedResource(FEDERATED_CREDENTIAL_TYPE, names.federated_credential, credential, (identity.key,))
    )
    for assignment in azure.role_assignments:
        if not any(fnmatchcase(ctx.spec.name, pattern) for pattern in assignment.adapters):
            continue
        guid = str(
            uuid.uuid5(
                _ROLE_ASSIGNMENT_NAMESPACE, f"{names.identity}|{assignment.role_definition_id}|{assignment.scope}"
            )
        )
        inputs = {
            "principalId": Ref(identity.key, "principalId"),
            # Without it, Azure looks the new principal up in Entra ID and may not find it yet.
            "principalType": "ServicePrincipal",
            "roleDefinitionId": assignment.role_definition_id,
            "scope": assignment.scope,
            "roleAssignmentName": guid,
            "description": assignment.description or f"mcp-adapters: adapter {ctx.spec.name}",
        }
        name = f"{names.identity}-{guid[:8]}"
        resources.append(RenderedResource(ROLE_ASSIGNMENT_TYPE, name, inputs, (identity.key,)))
    return resources


def role_assignment_guid(identity: str, role_definition_id: str, scope: str) -> str:
    return str(uuid.uuid5(_ROLE_ASSIGNMENT_NAMESPACE, f"{identity}|{role_definition_id}|{scope}"))
