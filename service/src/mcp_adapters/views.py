"""Rows to API models: secrets redacted, status in Kubernetes shape."""

from __future__ import annotations

from mcp_infra.secrets import secret_names

from mcp_adapters.db.tables import AdapterRow, OperationRow
from mcp_adapters.models import REDACTED, Adapter, AdapterStatus, Condition, Operation, Phase, Replicas


def endpoint_path(name: str) -> str:
    return f"/adapters/{name}/mcp"


def operation_view(operation: OperationRow | None) -> Operation | None:
    if operation is None:
        return None
    return Operation.model_validate(
        {
            "id": operation.id,
            "kind": operation.kind,
            "generation": operation.generation,
            "startedAt": operation.started_at,
            "finishedAt": operation.finished_at,
            "outcome": operation.outcome,
            "message": operation.message,
            "attempt": operation.attempt,
            "resourceChanges": operation.resource_changes,
        }
    )


def status_view(row: AdapterRow, operation: OperationRow | None) -> AdapterStatus:
    return AdapterStatus(
        phase=Phase(row.phase),
        generation=row.generation,
        observed_generation=row.observed_generation,
        conditions=[Condition.model_validate(c) for c in row.conditions],
        replicas=Replicas(desired=row.replicas_desired, ready=row.replicas_ready),
        last_operation=operation_view(operation),
        endpoint=endpoint_path(row.name),
    )


def adapter_view(row: AdapterRow, operation: OperationRow | None) -> Adapter:
    spec = dict(row.spec)
    env: dict[str, str] = dict(spec.get("environmentVariables", {}))
    # What was sealed, and what looks secret now in a row not re-sealed yet (one written by an older replica).
    sealed = set(row.secret_keys)
    unsealed = {k: v for k, v in env.items() if k not in sealed}
    hidden = sealed | set(secret_names(unsealed, spec.get("secretEnvironmentVariables", ())))
    spec["environmentVariables"] = {k: (REDACTED if k in hidden else v) for k, v in env.items()}
    return Adapter.model_validate(
        {
            **spec,
            "createdBy": row.created_by,
            "createdAt": row.created_at,
            "lastUpdatedAt": row.updated_at,
            "generation": row.generation,
            "status": status_view(row, operation),
        }
    )
