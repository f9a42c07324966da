"""Kubernetes-style conditions: one per type, whose transition time moves only when its status does."""

from __future__ import annotations

from typing import Any, Literal

from mcp_adapters.db.tables import utcnow

Status = Literal["True", "False", "Unknown"]


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status: Status,
    reason: str,
    message: str,
    generation: int,
) -> list[dict[str, Any]]:
    previous = next((c for c in conditions if c.get("type") == type_), None)
    moved = previous is None or previous.get("status") != status
    condition = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": utcnow().isoformat() if moved else previous["lastTransitionTime"],  # type: ignore[index]
    }
    return [*(c for c in conditions if c.get("type") != type_), condition]
