"""The platform stack's configuration: what `Pulumi.<stack>.yaml` holds under `mcp-adapters:`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from mcp_infra.settings import Quantity


class ControlPlaneConfig(BaseModel):
    """The control plane Deployment (`mcp-adapters serve`) and what it may do."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    image_name: str = "mcp-adapters"
    image_version: str = "0.1.0"
    replicas: int = Field(default=1, ge=1, le=10)
    # Without a database URL the control plane keeps SQLite on a volume: one replica only.
    storage_size: Quantity = "1Gi"
    storage_class_name: str | None = None
    env: dict[str, str] = Field(default_factory=dict, description="Extra MCP_ADAPTERS_* settings for the service.")
    # Its own Azure identity, to create adapters' identities (Managed Identity Contributor on the resource group).
    workload_identity: bool = True
    expose: bool = Field(default=True, description="Serve the REST API on the platform host (path /).")
    requests: dict[str, Quantity] = Field(default_factory=lambda: {"cpu": "100m", "memory": "256Mi"})
    limits: dict[str, Quantity] = Field(default_factory=lambda: {"cpu": "1", "memory": "1Gi"})
