"""Pending creates left by a killed `up` become imports the refresh can read back, where their ID is knowable.

The end-to-end proof (a CLI killed while the identity is created, then the
adapter converging without a duplicate) is in test_real_engine.py; these pin
the IDs, which must be exactly what each provider reads.
"""

from __future__ import annotations

from typing import Any

from mcp_adapters.targets.kubernetes._adopt import adopt_pending_creates, provider_id

SUB = "00000000-0000-0000-0000-000000000001"


def pending(type_: str, inputs: dict[str, Any], *, op: str = "creating") -> dict[str, Any]:
    return {
        "type": op,
        "resource": {"urn": f"urn:pulumi:s::p::{type_}::x", "custom": True, "type": type_, "inputs": inputs},
    }


def test_kubernetes_objects_are_namespace_slash_name_and_cluster_scoped_ones_just_the_name() -> None:
    statefulset = {"metadata": {"name": "mcp-github", "namespace": "mcp-adapters"}}
    assert provider_id("kubernetes:apps/v1:StatefulSet", statefulset, None) == "mcp-adapters/mcp-github"
    assert provider_id("kubernetes:core/v1:Namespace", {"metadata": {"name": "mcp"}}, None) == "mcp"
    assert provider_id("kubernetes:core/v1:Secret", {"metadata": {}}, None) is None


def test_azure_ids_follow_the_arm_resource_paths() -> None:
    identity = {"resourceGroupName": "rg", "resourceName": "id-github"}
    base = (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-github"
    )
    assert provider_id("azure-native:managedidentity:UserAssignedIdentity", identity, SUB) == base
    credential = {**identity, "federatedIdentityCredentialResourceName": "fic"}
    assert (
        provider_id("azure-native:managedidentity:FederatedIdentityCredential", credential, SUB)
        == f"{base}/federatedIdentityCredentials/fic"
    )
    assignment = {"scope": "/subscriptions/x/resourceGroups/data/", "roleAssignmentName": "1234"}
    assert (
        provider_id("azure-native:authorization:RoleAssignment", assignment, None)
        == "/subscriptions/x/resourceGroups/data/providers/Microsoft.Authorization/roleAssignments/1234"
    )


def test_without_a_subscription_an_identity_cannot_be_adopted_and_is_left_to_be_cleared() -> None:
    identity = pending(
        "azure-native:managedidentity:UserAssignedIdentity", {"resourceGroupName": "rg", "resourceName": "id"}
    )
    deployment: dict[str, Any] = {"resources": [], "pending_operations": [identity]}
    assert adopt_pending_creates(deployment, None) == []
    assert deployment == {"resources": [], "pending_operations": [identity]}


def test_pending_creates_with_a_known_id_join_the_state_after_what_they_depend_on() -> None:
    component = {"urn": "urn:pulumi:s::p::mcp-adapters:index:McpAdapter::x", "custom": False, "type": "c"}
    identity = pending(
        "azure-native:managedidentity:UserAssignedIdentity", {"resourceGroupName": "rg", "resourceName": "id"}
    )
    secret = pending("kubernetes:core/v1:Secret", {"metadata": {"generateName": "x-"}})
    service = pending("kubernetes:core/v1:Service", {"metadata": {"name": "s", "namespace": "n"}}, op="updating")
    deployment: dict[str, Any] = {"resources": [component], "pending_operations": [identity, secret, service]}

    adopted = adopt_pending_creates(deployment, SUB)

    assert adopted == [identity["resource"]["urn"]]
    assert deployment["resources"][0] is component
    (moved,) = deployment["resources"][1:]
    assert moved["urn"] == identity["resource"]["urn"]
    assert moved["id"].endswith("/userAssignedIdentities/id")
    assert deployment["pending_operations"] == [secret, service]  # cleared by the refresh, or left alone
