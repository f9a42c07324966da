"""What the API returns: the adapter spec plus the fields the server manages.

Persistence (`db/tables.py`) is kept apart: these models are the JSON contract.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

from mcp_infra.spec import AdapterSpec
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

REDACTED: Final = "<redacted>"


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class Phase(StrEnum):
    PENDING = "Pending"
    PROVISIONING = "Provisioning"
    READY = "Ready"
    FAILED = "Failed"
    DELETING = "Deleting"


class Condition(ApiModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    observed_generation: int = 0
    last_transition_time: datetime


class Replicas(ApiModel):
    desired: int = 0
    ready: int = 0


class Operation(ApiModel):
    id: int
    kind: Literal["apply", "delete", "refresh"]
    generation: int
    started_at: datetime
    finished_at: datetime | None = None
    outcome: Literal["running", "succeeded", "failed"]
    message: str = ""
    attempt: int = 1
    resource_changes: dict[str, int] | None = Field(
        default=None, description="What the operation changed, by step (create, update, delete, same...), when known."
    )


class AdapterStatus(ApiModel):
    phase: Phase = Phase.PENDING
    generation: int = Field(description="The spec's generation, for comparison with observedGeneration.")
    observed_generation: int = Field(0, description="The generation the last finished operation acted on.")
    conditions: list[Condition] = Field(default_factory=list)
    replicas: Replicas = Field(default_factory=Replicas)
    last_operation: Operation | None = None
    endpoint: str = Field(description="Path of the adapter's MCP endpoint on this service.")


class Adapter(AdapterSpec):
    """An adapter as stored: the spec (secret values redacted) plus server-managed fields."""

    model_config = ConfigDict(frozen=False, serialize_by_alias=True)

    created_by: str
    created_at: datetime
    last_updated_at: datetime
    generation: int
    status: AdapterStatus


class PlannedResource(ApiModel):
    type: str
    name: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    op: str | None = Field(default=None, description="The planned step (create, update, same, delete...), when known.")


class PreviewFinding(ApiModel):
    policy: str
    enforcement: Literal["mandatory", "advisory"]
    resource: str
    message: str


class Preview(ApiModel):
    """What a create or update would do, with nothing changed (`?dryRun=true`)."""

    dry_run: bool = True
    change: Literal["create", "update", "none"]
    allowed: bool = Field(description="False when a mandatory finding would refuse the change.")
    target: str
    adapter: dict[str, Any] = Field(description="The adapter as it would be stored (secrets redacted).")
    resources: list[PlannedResource] = Field(description="What the target would run or create.")
    change_summary: dict[str, int] | None = Field(
        default=None, description="The engine's count of planned steps by kind (`pulumi preview`, kubernetes target)."
    )
    rendered: list[PlannedResource] = Field(
        default_factory=list, description="The Kubernetes and Azure objects the platform render produces."
    )
    findings: list[PreviewFinding] = Field(default_factory=list)


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
