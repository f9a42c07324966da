"""The three azure-native resource types the product creates, as the real provider and Azure treat them.

Per type: its inputs (required ones, their JSON kind, which force a replacement),
how its ARM id is built, what Azure checks when it is written (resource group,
parent, GUID names, duplicate role assignments) and which outputs Azure assigns.
Messages follow the real provider (`missing required property 'x'`) and
Azure's ARM errors as the provider's azcore client prints them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.realstack.azure_native._arm import arm_error, group_id, now, tenant_of
from tests.realstack.azure_native._cloud import Cloud, Record
from tests.realstack.azure_native._env import VERSION
from tests.realstack.azure_native._values import UNKNOWN, describe, is_unknown

IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CREATE_BEFORE_DELETE = "__createBeforeDelete"  # the real provider's marker of a randomly auto-named resource


@dataclass(frozen=True)
class Input:
    name: str
    kind: str = "string"  # the JSON kind: string, array (of strings) or object (string -> string)
    required: bool = False
    replaces: bool = False
    in_body: bool = True  # sent in the PUT body, so Azure returns it as an output; else only in the URL


_KINDS: dict[str, type] = {"string": str, "array": list, "object": dict}
_HINTS = {
    "location": ". Either set it explicitly or configure it with 'pulumi config set azure-native:location <value>'."
}


@dataclass(frozen=True)
class ResourceType:
    token: str
    arm_type: str
    api_version: str
    inputs: tuple[Input, ...]
    name_input: str  # the input that names the resource in Azure (auto-named when absent)
    autoname: str  # "random": the Pulumi name and 8 hex digits; "uuid": a GUID
    computed: tuple[str, ...]  # outputs Azure assigns: unknown during a preview
    replace_on_any_change: bool = False

    def input(self, name: str) -> Input | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def replaces(self, name: str) -> bool:
        if name in ("azureApiVersion", CREATE_BEFORE_DELETE):
            return False
        spec = self.input(name)
        return self.replace_on_any_change or (spec is not None and spec.replaces)

    def failures(self, inputs: Mapping[str, Any]) -> list[str]:
        reasons: list[str] = []
        for spec in self.inputs:
            if spec.name not in inputs:
                if spec.required:
                    reasons.append(f"missing required property '{spec.name}'{_HINTS.get(spec.name, '')}")
                continue
            value = inputs[spec.name]
            if value is None or is_unknown(value):
                continue
            if not isinstance(value, _KINDS[spec.kind]):
                reasons.append(f"'{spec.name}' should be of type '{spec.kind}' but got {describe(value)}")
            elif isinstance(value, list) and not all(isinstance(item, str) for item in value):
                reasons.append(f"'{spec.name}' should be an array of strings")
            elif isinstance(value, dict) and not all(isinstance(item, str) for item in value.values()):
                reasons.append(f"'{spec.name}' should be a map of strings")
        return reasons

    def resource_id(self, subscription: str, inputs: Mapping[str, Any]) -> str:
        if self.token == IDENTITY:
            group = group_id(subscription, inputs["resourceGroupName"])
            return f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{inputs['resourceName']}"
        if self.token == FEDERATED_CREDENTIAL:
            parent = IDENTITY_TYPE.resource_id(subscription, inputs)
            return f"{parent}/federatedIdentityCredentials/{inputs['federatedIdentityCredentialResourceName']}"
        scope = "/" + str(inputs["scope"]).strip("/")
        return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{inputs['roleAssignmentName']}"

    def group_of(self, inputs: Mapping[str, Any]) -> str | None:
        if "resourceGroupName" in inputs:
            return str(inputs["resourceGroupName"])
        found = re.match(r"^/?subscriptions/[^/]+/resourceGroups/([^/]+)", str(inputs.get("scope", "")), re.IGNORECASE)
        return found.group(1) if found else None

    def check_cloud(self, cloud: Cloud, subscription: str, inputs: Mapping[str, Any], resource_id: str) -> None:
        """What Azure refuses when the resource is written (PUT); raises the ARM error."""
        group = self.group_of(inputs)
        if group is not None and cloud.get(group_id(subscription, group)) is None:
            raise arm_error(
                "PUT", resource_id, 404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found."
            )
        if self.token == FEDERATED_CREDENTIAL:
            parent = IDENTITY_TYPE.resource_id(subscription, inputs)
            if cloud.get(parent) is None:
                message = (
                    "Failed to perform 'write' on resource(s) of type "
                    "'userAssignedIdentities/federatedIdentityCredentials', "
                    f"because the parent resource '{parent}' could not be found."
                )
                raise arm_error("PUT", resource_id, 404, "ParentResourceNotFound", message)
        if self.token == ROLE_ASSIGNMENT:
            _check_role_assignment(cloud, inputs, resource_id)

    def generate(self, cloud: Cloud, subscription: str, previous: Mapping[str, Any] | None) -> dict[str, Any]:
        """What Azure assigns on a PUT: kept from the previous record when the resource already existed."""
        if previous is not None:
            generated = dict(previous)
            if self.token == ROLE_ASSIGNMENT:
                generated["updatedOn"] = now()
            return generated
        if self.token == IDENTITY:
            return {
                "clientId": str(uuid.uuid4()),
                "principalId": str(uuid.uuid4()),
                "tenantId": tenant_of(cloud, subscription),
            }
        if self.token == ROLE_ASSIGNMENT:
            return {"createdOn": now(), "updatedOn": now()}
        return {}

    def outputs(self, record: Record) -> dict[str, Any]:
        inputs: dict[str, Any] = record["inputs"]
        outputs = {spec.name: inputs[spec.name] for spec in self.inputs if spec.in_body and spec.name in inputs}
        outputs.update(record.get("generated", {}))
        outputs["name"] = inputs[self.name_input]
        outputs["type"] = self.arm_type
        outputs["azureApiVersion"] = inputs.get("azureApiVersion", self.api_version)
        if self.token == ROLE_ASSIGNMENT and "principalType" not in outputs:
            outputs["principalType"] = "User"  # Azure's default
        return outputs

    def preview_outputs(self, inputs: Mapping[str, Any], old_outputs: Mapping[str, Any]) -> dict[str, Any]:
        """What a preview can tell: the inputs Azure echoes; what Azure assigns only when it was assigned before."""
        outputs = {spec.name: inputs[spec.name] for spec in self.inputs if spec.in_body and spec.name in inputs}
        outputs["azureApiVersion"] = inputs.get("azureApiVersion", self.api_version)
        for name in (*self.computed, "name", "type"):
            outputs[name] = old_outputs.get(name, UNKNOWN)
        return outputs


def _check_role_assignment(cloud: Cloud, inputs: Mapping[str, Any], resource_id: str) -> None:
    name = str(inputs["roleAssignmentName"])
    try:
        uuid.UUID(name)
    except ValueError:
        message = f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
        raise arm_error("PUT", resource_id, 400, "InvalidRoleAssignmentId", message) from None
    same = ("principalId", "roleDefinitionId", "scope")
    for record in cloud.all():
        if record.get("token") != ROLE_ASSIGNMENT or record["id"].lower() == resource_id.lower():
            continue
        if all(str(record["inputs"].get(key, "")).lower() == str(inputs.get(key, "")).lower() for key in same):
            raise arm_error("PUT", resource_id, 409, "RoleAssignmentExists", "The role assignment already exists.")


IDENTITY_TYPE = ResourceType(
    token=IDENTITY,
    arm_type="Microsoft.ManagedIdentity/userAssignedIdentities",
    api_version="2023-01-31",
    inputs=(
        Input("resourceGroupName", required=True, replaces=True, in_body=False),
        Input("resourceName", required=True, replaces=True, in_body=False),
        Input("location", required=True, replaces=True),
        Input("tags", kind="object"),
        Input("azureApiVersion"),
    ),
    name_input="resourceName",
    autoname="random",
    computed=("clientId", "principalId", "tenantId"),
)

FEDERATED_CREDENTIAL_TYPE = ResourceType(
    token=FEDERATED_CREDENTIAL,
    arm_type="Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
    api_version="2023-01-31",
    inputs=(
        Input("resourceGroupName", required=True, replaces=True, in_body=False),
        Input("resourceName", required=True, replaces=True, in_body=False),
        Input("federatedIdentityCredentialResourceName", required=True, replaces=True, in_body=False),
        Input("issuer", required=True),
        Input("subject", required=True),
        Input("audiences", kind="array", required=True),
        Input("azureApiVersion"),
    ),
    name_input="federatedIdentityCredentialResourceName",
    autoname="random",
    computed=(),
)

ROLE_ASSIGNMENT_TYPE = ResourceType(
    token=ROLE_ASSIGNMENT,
    arm_type="Microsoft.Authorization/roleAssignments",
    api_version="2022-04-01",
    inputs=(
        Input("principalId", required=True),
        Input("principalType"),
        Input("roleDefinitionId", required=True),
        Input("scope", required=True),
        Input("roleAssignmentName", required=True, in_body=False),
        Input("description"),
        Input("condition"),
        Input("conditionVersion"),
        Input("delegatedManagedIdentityResourceId"),
        Input("azureApiVersion"),
    ),
    name_input="roleAssignmentName",
    autoname="uuid",
    computed=("createdOn", "updatedOn"),
    replace_on_any_change=True,
)

TYPES: dict[str, ResourceType] = {
    kind.token: kind for kind in (IDENTITY_TYPE, FEDERATED_CREDENTIAL_TYPE, ROLE_ASSIGNMENT_TYPE)
}


def schema() -> dict[str, Any]:
    """A minimal package schema: enough for the engine and for `pulumi import` to name things."""
    kinds = {"string": {"type": "string"}, "array": {"type": "array", "items": {"type": "string"}}}
    kinds["object"] = {"type": "object", "additionalProperties": {"type": "string"}}
    resources = {}
    for kind in TYPES.values():
        resources[kind.token] = {
            "inputProperties": {spec.name: kinds[spec.kind] for spec in kind.inputs},
            "requiredInputs": [
                spec.name for spec in kind.inputs if spec.required and spec.name not in (kind.name_input, "location")
            ],
            "properties": {spec.name: kinds[spec.kind] for spec in kind.inputs if spec.in_body},
        }
    return {"name": "azure-native", "version": VERSION, "resources": resources}
