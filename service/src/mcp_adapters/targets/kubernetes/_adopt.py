"""Adopting what a killed `up` created but never recorded.

A CLI killed while a create is in flight leaves a *pending create* in the
stack's state: the engine does not know whether the resource exists. Clearing
it (`refresh --clear-pending-creates`) makes the next `up` create it again,
which azure-native refuses for a name that exists ("cannot create already
existing resource"), and the adapter stays stuck. Instead, each pending create
whose provider ID can be derived from its inputs is moved into the state as a
resource with that ID; the refresh that follows reads it back, keeping it when
it exists and dropping it when the create never reached the cloud. Only
creates whose ID cannot be derived are cleared.

(`pulumi refresh --import-pending-creates URN ID` looks like the same thing,
but the engine of 3.274 only relabels the operation "importing" and the
refresh leaves it out of the state: the real engine showed it.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_AZURE_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
_AZURE_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
_AZURE_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
_CREATING = "creating"


def provider_id(type_: str, inputs: Mapping[str, Any], subscription: str | None) -> str | None:
    """The ID the resource's provider gives the resource these inputs create; None when it cannot be known."""
    if type_.startswith("kubernetes:"):
        metadata = inputs.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str):
            return None
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        return f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name
    if type_ == _AZURE_ROLE_ASSIGNMENT:
        scope, guid = inputs.get("scope"), inputs.get("roleAssignmentName")
        if isinstance(scope, str) and isinstance(guid, str):
            return f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{guid}"
        return None
    group, identity = inputs.get("resourceGroupName"), inputs.get("resourceName")
    if not (subscription and isinstance(group, str) and isinstance(identity, str)):
        return None
    identity_id = (
        f"/subscriptions/{subscription}/resourceGroups/{group}"
        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity}"
    )
    if type_ == _AZURE_IDENTITY:
        return identity_id
    credential = inputs.get("federatedIdentityCredentialResourceName")
    if type_ == _AZURE_CREDENTIAL and isinstance(credential, str):
        return f"{identity_id}/federatedIdentityCredentials/{credential}"
    return None


def adopt_pending_creates(deployment: dict[str, Any], subscription: str | None) -> list[str]:
    """Move pending creates with a derivable ID into the deployment's resources, in place; returns their URNs.

    Appended last, each follows its parent, provider and dependencies, which the engine had recorded before
    it started the create: the order a deployment's resources must keep.
    """
    adopted: list[str] = []
    remaining: list[dict[str, Any]] = []
    for operation in deployment.get("pending_operations") or []:
        resource = operation.get("resource") or {}
        found = None
        if operation.get("type") == _CREATING and resource.get("custom", True):
            found = provider_id(str(resource.get("type", "")), resource.get("inputs") or {}, subscription)
        if found is None:
            remaining.append(operation)
            continue
        resource["id"] = found
        resource.setdefault("outputs", {})
        deployment.setdefault("resources", []).append(resource)
        adopted.append(str(resource.get("urn")))
    deployment["pending_operations"] = remaining
    return adopted
