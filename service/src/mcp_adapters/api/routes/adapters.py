"""`/adapters`: record desired state and answer at once; the reconciler does the rest."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Path, Query, Response, status
from mcp_infra.spec import ADAPTER_NAME_PATTERN, AdapterSpec
from pydantic import TypeAdapter

from mcp_adapters import preview as previews
from mcp_adapters.admission import admit
from mcp_adapters.api.deps import CurrentIdentity, PermissionsDep, RuntimeDep, StoreDep
from mcp_adapters.auth.identity import Identity
from mcp_adapters.db.tables import AdapterRow
from mcp_adapters.errors import BadRequest, Conflict, ValidationFailed
from mcp_adapters.models import Adapter, Phase, Preview, Problem
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
        existing = await asyncio.to_thread(store.get, spec.name)
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
    row = await asyncio.to_thread(store.create, spec, who.user_id)
    runtime.reconciler.wake()
    response.headers["Location"] = f"/adapters/{row.name}"
    return adapter_view(row, None)


Limit = Annotated[
    int | None,
    Query(ge=1, le=1000, description="At most this many, in name order; the next page by the `continue` token."),
]
ContinueToken = Annotated[
    str | None,
    Query(alias="continue", max_length=200, description="From the previous page's `X-Continue` header."),
]
PhaseFilter = Annotated[Phase | None, Query(description="Only adapters in this phase.")]
CreatedBy = Annotated[str | None, Query(alias="createdBy", max_length=256, description="Only this creator's.")]
_ADAPTER_LIST = TypeAdapter(list[Adapter])
_PAGE_HEADERS = {
    "X-Continue": {
        "description": "The token for the next page (absent on the last one).",
        "schema": {"type": "string"},
    },
    "Link": {"description": 'RFC 8288 `rel="next"`: the next page\'s URL.', "schema": {"type": "string"}},
}


@router.get(
    "",
    response_model=list[Adapter],
    responses={
        **PROBLEMS,
        200: {"description": "The adapters (a JSON array, as mcp-gateway's)", "headers": _PAGE_HEADERS},
    },
    summary="List the adapters the caller may see (all, or a page with `limit`)",
)
async def list_adapters(
    who: CurrentIdentity,
    store: StoreDep,
    permissions: PermissionsDep,
    limit: Limit = None,
    continue_token: ContinueToken = None,
    phase: PhaseFilter = None,
    created_by: CreatedBy = None,
) -> Response:
    after = _after(continue_token)
    wanted = phase.value if phase is not None else None

    def rows() -> tuple[list[AdapterRow], bool]:
        found: list[AdapterRow] = []
        cursor, batch = after, (limit + 1 if limit else 500)
        while True:  # the caller's visibility is decided here, so fetch in batches until the page is full
            chunk = store.page(cursor, batch, wanted, created_by)
            found += [row for row in chunk if permissions.can_read(who, row)]
            if limit is not None and len(found) > limit:
                return found[:limit], True
            if len(chunk) < batch:
                return found, False
            cursor = chunk[-1].name

    def views() -> tuple[list[Adapter], str | None]:  # one thread hop; a query per batch and one for operations
        page, more = rows()
        operations = store.operations_by_id([row.last_operation_id for row in page])
        token = _token(page[-1].name) if more and page else None
        return [adapter_view(row, operations.get(row.last_operation_id or -1)) for row in page], token

    adapters, token = await asyncio.to_thread(views)
    headers: dict[str, str] = {}
    if token is not None:
        params = {"limit": limit, "continue": token, "phase": wanted, "createdBy": created_by}
        query = urlencode({k: v for k, v in params.items() if v is not None})
        headers = {"X-Continue": token, "Link": f'</adapters?{query}>; rel="next"'}
    # Serialized once, by pydantic-core: FastAPI's own path would re-validate and re-encode every adapter.
    return Response(_ADAPTER_LIST.dump_json(adapters, by_alias=True), media_type="application/json", headers=headers)


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(f"after:{name}".encode()).decode().rstrip("=")


def _after(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    kind, _, name = text.partition(":")
    if kind != "after" or not re.fullmatch(ADAPTER_NAME_PATTERN, name):
        raise BadRequest("the continue token is not one this service issued: start again without it")
    return name


@router.get("/{name}", response_model=Adapter, responses=PROBLEMS, summary="Get one adapter")
async def get_adapter(name: AdapterName, who: CurrentIdentity, store: StoreDep, permissions: PermissionsDep) -> Adapter:
    row = permissions.require_read(who, await asyncio.to_thread(store.get, name), name)
    return await asyncio.to_thread(_with_operation, store, row)


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
    row = permissions.require_change(who, await asyncio.to_thread(store.get, name), name)
    admit(spec, runtime.settings, trusted=not dry_run)
    permissions.require_workload_identity(who, spec)
    if dry_run:
        merged = store.merge_redacted(spec, row)
        change: Literal["update", "none"] = "none" if store.opened_spec(row) == merged else "update"
        return await previews.preview(merged, change, runtime.target, runtime.settings)
    row, changed = await asyncio.to_thread(store.replace, spec)
    if changed:
        runtime.reconciler.wake()
    return await asyncio.to_thread(_with_operation, store, row)


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
    runtime.permissions.require_change(who, await asyncio.to_thread(store.get, name), name)
    row = await asyncio.to_thread(request, name)
    runtime.reconciler.wake()
    return await asyncio.to_thread(_with_operation, store, row)


@router.post(
    "/{name}/refresh",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Adapter,
    responses=PROBLEMS,
    summary="Read back what is deployed (drift) before the next apply (202; see the status's last operation)",
)
async def refresh_adapter(name: AdapterName, who: CurrentIdentity, runtime: RuntimeDep) -> Adapter:
    return await _request(name, who, runtime, runtime.store.request_refresh)
