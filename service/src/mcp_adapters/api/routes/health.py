"""`/healthz` (the process answers), `/readyz` (database, reconciler and target can work), `/metrics`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from mcp_adapters import metrics
from mcp_adapters.api.deps import RuntimeDep
from mcp_adapters.db.engine import UNAVAILABLE, why_unavailable
from mcp_adapters.db.tables import AdapterRow
from mcp_adapters.errors import Unavailable
from mcp_adapters.models import Phase
from mcp_adapters.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _database_problem(runtime: Runtime) -> str | None:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except UNAVAILABLE as exc:
        return why_unavailable(exc)
    return None


@router.get("/readyz", summary="Readiness: database reachable, reconciler running, target usable")
async def readyz(runtime: RuntimeDep) -> dict[str, str]:
    if (problem := await asyncio.to_thread(_database_problem, runtime)) is not None:
        raise Unavailable(problem, headers={"Retry-After": "5"})
    if not runtime.reconciling:
        raise Unavailable("the reconciler is not running", headers={"Retry-After": "5"})
    if (problem := runtime.target.problem()) is not None:
        raise Unavailable(f"the {runtime.target.name} target cannot work: {problem}", headers={"Retry-After": "30"})
    ready = {"status": "ready", "target": runtime.target.name, "auth": runtime.auth.mode}
    if runtime.auth.warning:
        ready["warning"] = runtime.auth.warning
    return ready


def _phase_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.store.reads() as session:
        rows = session.execute(select(AdapterRow.phase, func.count()).group_by(AdapterRow.phase)).all()
    return {str(phase): int(count) for phase, count in rows}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus(runtime: RuntimeDep) -> Response:
    counts = await asyncio.to_thread(_phase_counts, runtime)
    for phase in Phase:
        metrics.ADAPTERS.labels(phase.value).set(counts.get(phase.value, 0))
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
