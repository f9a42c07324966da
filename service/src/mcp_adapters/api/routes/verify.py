"""Forward auth for the ingress (`auth-url`): may this caller use this adapter's endpoint?

200 with `X-Mcp-UserId` / `X-Mcp-Roles` when it may, 401 with a challenge when
unauthenticated, 404 when the adapter does not exist or the caller may not see it.
"""

from __future__ import annotations

from typing import Annotated

from anyio.to_thread import run_sync
from fastapi import APIRouter, Query, Response

from mcp_adapters.api.deps import CurrentIdentity, PermissionsDep, StoreDep
from mcp_adapters.api.routes.adapters import PROBLEMS, AdapterName
from mcp_adapters.auth.identity import Identity

router = APIRouter(tags=["auth"])
_QUERY_NAME = Query(min_length=1, max_length=63, pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def identity_headers(who: Identity) -> dict[str, str]:
    roles = ",".join(sorted(who.roles))
    return {"X-Mcp-UserId": who.user_id, "X-Mcp-Roles": roles, "X-Auth-Request-User": who.user_id}


async def _verify(name: str, who: Identity, store: StoreDep, permissions: PermissionsDep) -> Response:
    permissions.require_call(who, await run_sync(store.get, name), name)
    return Response(status_code=200, headers=identity_headers(who))


@router.get("/adapters/{name}/verify", responses=PROBLEMS, summary="Forward auth for one adapter's endpoint")
async def verify_adapter(
    name: AdapterName, who: CurrentIdentity, store: StoreDep, permissions: PermissionsDep
) -> Response:
    return await _verify(name, who, store, permissions)


@router.get("/auth/verify", responses=PROBLEMS, summary="Forward auth, adapter named by query (the infra default)")
async def verify_query(
    adapter: Annotated[str, _QUERY_NAME], who: CurrentIdentity, store: StoreDep, permissions: PermissionsDep
) -> Response:
    return await _verify(adapter, who, store, permissions)
