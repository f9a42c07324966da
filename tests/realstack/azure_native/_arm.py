"""Azure Resource Manager as the stand-in's cloud: ids, errors, tenants and the one function the product calls.

Errors read as the provider's azcore client prints an ARM error response.
"""

from __future__ import annotations

import datetime
import http
import json
import uuid
from typing import Any

from tests.realstack.azure_native._cloud import Cloud, Record

GET_MANAGED_CLUSTER = "azure-native:containerservice:getManagedCluster"
GROUP_TYPE = "Microsoft.Resources/resourceGroups"
SUBSCRIPTION_TYPE = "Microsoft.Resources/subscriptions"
CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
CLUSTER_API_VERSION = "2025-09-01"


class ProviderError(Exception):
    """A failed call; the message is what the engine shows the user."""


def arm_error(method: str, resource_id: str, status: int, code: str, message: str) -> ProviderError:
    """An ARM error response, printed the way the provider's azcore client prints one."""
    rule = "-" * 80
    body = json.dumps({"error": {"code": code, "message": message}}, indent=2)
    phrase = http.HTTPStatus(status).phrase
    return ProviderError(
        f"{method} https://management.azure.com{resource_id}\n{rule}\n"
        f"RESPONSE {status}: {status} {phrase}\nERROR CODE: {code}\n{rule}\n{body}\n{rule}\n"
    )


def group_id(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}"


def cluster_id(subscription: str, group: str, name: str) -> str:
    return f"{group_id(subscription, group)}/providers/Microsoft.ContainerService/managedClusters/{name}"


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def tenant_of(cloud: Cloud, subscription: str) -> str:
    """The subscription's tenant: made up once per cloud and subscription, as stable as Azure's."""
    subscription_id = f"/subscriptions/{subscription}"
    record = cloud.get(subscription_id)
    if record is None:
        record = {"id": subscription_id, "type": SUBSCRIPTION_TYPE, "token": None, "inputs": {}}
        record["generated"] = {"tenantId": str(uuid.uuid4())}
        cloud.put(record)
    return str(record["generated"]["tenantId"])


def managed_cluster(cloud: Cloud, subscription: str, group: str, name: str) -> dict[str, Any]:
    """`getManagedCluster`: the cluster as the provider returns it, or the provider's error for a GET that failed."""
    resource_id = cluster_id(subscription, group, name)
    record = cloud.get(resource_id)
    if record is not None:
        return _cluster_outputs(record)
    if cloud.get(group_id(subscription, group)) is None:
        error = arm_error(
            "GET", resource_id, 404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found."
        )
    else:
        message = (
            f"The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group "
            f"'{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        )
        error = arm_error("GET", resource_id, 404, "ResourceNotFound", message)
    raise ProviderError(f"request failed {resource_id}: {error}")


def _cluster_outputs(record: Record) -> dict[str, Any]:
    inputs = record["inputs"]
    resource_id = str(record["id"])
    return {
        "id": resource_id,
        "name": resource_id.rsplit("/", 1)[-1],
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": inputs["location"],
        "provisioningState": "Succeeded",
        "oidcIssuerProfile": {"enabled": True, "issuerURL": inputs["issuerURL"]},
        "securityProfile": {"workloadIdentity": {"enabled": True}},
        "azureApiVersion": CLUSTER_API_VERSION,
    }
