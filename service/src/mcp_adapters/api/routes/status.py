"""`/adapters/{name}/status`, `/operations` and `/logs`: what converged, what failed, what the replicas print."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from mcp_adapters.api.deps import CurrentIdentity, PermissionsDep, RuntimeDep, StoreDep
from mcp_adapters.api.routes.adapters import PROBLEMS, AdapterName
from mcp_adapters.errors import NotFound
from mcp_adapters.models import AdapterStatus, Operation
from mcp_adapters.views import operation_view, status_view

router = APIRouter(prefix="/adapters", tags=["adapters"])
MAX_TAIL = 10_000


@router.get("/{name}/status", response_model=AdapterStatus, responses=PROBLEMS, summary="Phase, conditions, replicas")
async def get_status(
    name: AdapterName, who: CurrentIdentity, store: StoreDep, permissions: PermissionsDep
) -> AdapterStatus:
    row = permissions.require_read(who, await asyncio.to_thread(store.get, name), name)
    return status_view(row, await asyncio.to_thread(store.operation, row.last_operation_id))


@router.get(
    "/{name}/operations",
    response_model=list[Operation],
    responses=PROBLEMS,
    summary="The adapter's operations over time, newest first",
)
async def get_operations(
    name: AdapterName,
    who: CurrentIdentity,
    store: StoreDep,
    permissions: PermissionsDep,
    limit: Annotated[int, Query(ge=1, le=500, description="How many, newest first.")] = 50,
) -> list[Operation]:
    row = permissions.require_read(who, await asyncio.to_thread(store.get, name), name)
    return [
        view for op in await asyncio.to_thread(store.operations, row, limit) if (view := operation_view(op)) is not None
    ]


@router.get(
    "/{name}/logs",
    response_class=PlainTextResponse,
    response_model=None,
    responses={**PROBLEMS, 200: {"content": {"text/plain": {}}, "description": "Log lines of one replica"}},
    summary="A replica's output (follow=true streams new lines), or the last operation's log",
)
async def get_logs(
    name: AdapterName,
    who: CurrentIdentity,
    runtime: RuntimeDep,
    instance: Annotated[int, Query(ge=0, le=99, description="Replica index, 0-based.")] = 0,
    tail: Annotated[int, Query(ge=1, le=MAX_TAIL, description="How many of the last lines.")] = 200,
    follow: Annotated[bool, Query(description="Keep streaming new lines until the adapter goes away.")] = False,
    source: Annotated[
        Literal["replica", "operation"],
        Query(description="`replica`: a replica's output; `operation`: the last operation's log (e.g. Pulumi's)."),
    ] = "replica",
) -> PlainTextResponse | StreamingResponse:
    row = runtime.permissions.require_read(who, await asyncio.to_thread(runtime.store.get, name), name)
    if source == "operation":
        operation = await asyncio.to_thread(runtime.store.operation, row.last_operation_id)
        if operation is None:
            raise NotFound(f"adapter {name!r} has no operation yet")
        lines = operation.log.splitlines()[-tail:]
        return PlainTextResponse("".join(line + "\n" for line in lines))
    if instance >= row.replicas_desired:
        raise NotFound(
            f"adapter {name!r} has {row.replicas_desired} replica(s): use instance 0..{row.replicas_desired - 1}"
        )
    if follow:
        return StreamingResponse(
            runtime.target.follow(name, instance, tail),
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    lines = await runtime.target.logs(name, instance, tail)
    return PlainTextResponse("".join(line + "\n" for line in lines))
