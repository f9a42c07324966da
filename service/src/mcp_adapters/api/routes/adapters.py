"""`/adapters`: record desired state and answer at once; the reconciler does the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from anyio.to_thread import run_sync
from fastapi import APIRouter, Body, Path, Query, Response, status
from mcp_infra.spec import ADAPTER_NAME_PATTERN, AdapterSpec

from mcp_adapters import preview as previews
from mcp_adapters.admission import admit
from mcp_adapters.api.deps import CurrentIdentity, PermissionsDep, RuntimeDep, StoreDep
from mcp_adapters.auth.identity import Identity
from mcp_adapters.errors import Conflict, ValidationFailed
from mcp_adapters.models import Adapter, Preview, Problem
from mcp_adapters.runtime import Runtime
from mcp_adapters.views import adapter_view

router = APIRouter(prefix="/adapters", tags=["adapters"])

AdapterName = Annotated[
    str, Path(min_length=1, max_length=63, pattern=ADAPTER_NAME_PATTERN, description="The adapter's name (DNS label).")
]
DryRun = Annotated[
    bool,
    Query(
        alias="dryRun",
        description="Preview only: return the planned resources and policy findings, change nothing.",
    ),
]
SpecBody = Annotated[AdapterSpec, Body(description="The adapter (camelCase; server-managed fields are refused).")]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 413, 422)
}


def _with_operation(store: Any, row: Any) -> Adapter:
    return adapter_view(row, store.operation(row.last_operation_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Adapter | Preview,
    responses={**PROBLEMS, 200: {"model": Preview, "description": "Preview (dryRun=true)"}},
    summary="Create an adapter (or preview it with dryRun=true)",
)
async def create_adapter(
    spec: SpecBody, who: CurrentIdentity, runtime: RuntimeDep, response: Response, dry_run: DryRun = False
) -> Adapter | Preview:
    admit(spec, runtime.settings, trusted=not dry_run)
    runtime.permissions.require_workload_identity(who, spec)
    store = runtime.store
    if dry_run:
        existing = await run_sync(store.get, spec.name)
        # Never a "create" preview over a stack that exists: for an adapter the caller may not read, that would
        # show what runs there. (The create itself would be refused the same way.)
        if existing is not None and existing.deletion_requested:
            raise Conflict(f"adapter {spec.name!r} is still being deleted: try again once it is gone")
        if existing is not None and runtime.permissions.can_read(who, existing):
            raise Conflict(
                f"adapter {spec.name!r} already exists: preview a change with PUT /adapters/{spec.name}?dryRun=true"
            )
        if existing is not None:
            raise Conflict(f"adapter {spec.name!r} already exists")
        response.status_code = status.HTTP_200_OK
        return await previews.preview(spec, "create", runtime.target, runtime.settings)
    row = await run_sync(store.create, spec, who.user_id)
    runtime.reconciler.wake()
    response.headers["Location"] = f"/adapters/{row.name}"
    return adapter_view(row, None)


@router.get("", response_model=list[Adapter], summary="List the adapters the caller may see")
async def list_adapters(who: CurrentIdentity, store: StoreDep, permissions: PermissionsDep) -> list[Adapter]:
    def views() -> list[Adapter]:  # one thread hop and two queries, however many adapters there are
        visible = [row for row in store.all() if permissions.can_read(who, row)]
        operations = store.operations_by_id([row.last_operation_id for row in visible])
        return [adapter_view(row, operations.get(row.last_operation_id or -1)) for row in visible]

    return await run_sync(views)


@router.get("/{name}", response_model=Adapter, responses=PROBLEMS, summary="Get one adapter")
async def get_adapter(name: AdapterName, who: CurrentIdentity, store: StoreDep, permissions: PermissionsDep) -> Adapter:
    row = permissions.require_read(who, await run_sync(store.get, name), name)
    return await run_sync(_with_operation, store, row)


@router.put(
    "/{name}",
    response_model=Adapter | Preview,
    responses={**PROBLEMS, 200: {"description": "The adapter, or its preview with dryRun=true"}},
    summary="Replace an adapter's spec (generation moves when it changes)",
)
async def replace_adapter(
    name: AdapterName, spec: SpecBody, who: CurrentIdentity, runtime: RuntimeDep, dry_run: DryRun = False
) -> Adapter | Preview:
    if spec.name != name:
        raise ValidationFailed(
            f"the body names adapter {spec.name!r} but the path names {name!r}",
            errors=[{"field": "name", "message": f"must be {name!r} (adapters cannot be renamed)"}],
        )
    store, permissions = runtime.store, runtime.permissions
    row = permissions.require_change(who, await run_sync(store.get, name), name)
    admit(spec, runtime.settings, trusted=not dry_run)
    permissions.require_workload_identity(who, spec)
    if dry_run:
        merged = store.merge_redacted(spec, row)
        change: Literal["update", "none"] = "none" if store.opened_spec(row) == merged else "update"
        return await previews.preview(merged, change, runtime.target, runtime.settings)
    row, changed = await run_sync(store.replace, spec)
    if changed:
        runtime.reconciler.wake()
    return await run_sync(_with_operation, store, row)


@router.delete(
    "/{name}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Adapter,
    responses=PROBLEMS,
    summary="Delete an adapter (202; it is gone once its replicas are stopped)",
)
async def delete_adapter(name: AdapterName, who: CurrentIdentity, runtime: RuntimeDep) -> Adapter:
    return await _request(name, who, runtime, runtime.store.request_deletion)


async def _request(name: str, who: Identity, runtime: Runtime, request: Callable[[str], Any]) -> Adapter:
    """Record a request the reconciler carries out (delete, refresh) for a caller allowed to change the adapter."""
    store = runtime.store
    runtime.permissions.require_change(who, await run_sync(store.get, name), name)
    row = await run_sync(request, name)
    runtime.reconciler.wake()
    return await run_sync(_with_operation, store, row)


@router.post(
    "/{name}/refresh",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Adapter,
    responses=PROBLEMS,
    summary="Read back what is deployed (drift) before the next apply (202; see the status's last operation)",
)
async def refresh_adapter(name: AdapterName, who: CurrentIdentity, runtime: RuntimeDep) -> Adapter:
    return await _request(name, who, runtime, runtime.store.request_refresh)
