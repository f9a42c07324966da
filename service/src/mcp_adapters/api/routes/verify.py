"""Forward auth for the ingress (`auth-url`): may this caller use this adapter's endpoint?

200 with no body and `X-Mcp-UserId` / `X-Mcp-Roles` when it may, 401 with a challenge when
unauthenticated (naming the adapter endpoint's sign-in metadata, which the ingress passes on to the
client), 404 when the adapter does not exist or the caller may not see it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from mcp_infra.spec import ADAPTER_NAME_PATTERN, MAX_NAME_LENGTH

from mcp_adapters.api.deps import CurrentIdentity, PermissionsDep, StoreDep
from mcp_adapters.api.routes.adapters import AdapterName
from mcp_adapters.api.routes.oauth import problem_response
from mcp_adapters.auth.identity import Identity

router = APIRouter(tags=["auth"])
_QUERY_NAME = Query(min_length=1, max_length=MAX_NAME_LENGTH, pattern=ADAPTER_NAME_PATTERN)


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The caller may use the adapter's endpoint. No body: who the caller is travels in the headers.",
        "headers": {
            "X-Mcp-UserId": _text("The caller: the token's `oid` (else `sub`), or the development user"),
            "X-Mcp-Roles": _text("The caller's roles, comma-separated (empty when it has none)"),
            "X-Auth-Request-User": _text("The caller again, under the name oauth2-proxy-style ingresses expect"),
        },
        "content": {},
    },
    400: problem_response("The Host is not one this service answers to"),
    401: problem_response(
        "No usable credentials",
        {"WWW-Authenticate": _text('`Bearer resource_metadata="<the adapter endpoint\'s RFC 9728 metadata>"`, ...')},
    ),
    404: problem_response("The adapter does not exist, or the caller may not see it"),
    422: problem_response("The adapter name is not a DNS label"),
}


def identity_headers(who: Identity) -> dict[str, str]:
    roles = ",".join(sorted(who.roles))
    return {"X-Mcp-UserId": who.user_id, "X-Mcp-Roles": roles, "X-Auth-Request-User": who.user_id}


async def _verify(name: str, who: Identity, store: StoreDep, permissions: PermissionsDep) -> Response:
    permissions.require_call(who, await asyncio.to_thread(store.get, name), name)
    return Response(status_code=200, headers=identity_headers(who))


@router.get(
    "/adapters/{name}/verify",
    response_class=Response,
    responses=RESPONSES,
    summary="Forward auth for one adapter's endpoint",
)
async def verify_adapter(
    name: AdapterName, who: CurrentIdentity, store: StoreDep, permissions: PermissionsDep
) -> Response:
    return await _verify(name, who, store, permissions)


@router.get(
    "/auth/verify",
    response_class=Response,
    responses=RESPONSES,
    summary="Forward auth, adapter named by query (the infra default)",
)
async def verify_query(
    adapter: Annotated[str, _QUERY_NAME], who: CurrentIdentity, store: StoreDep, permissions: PermissionsDep
) -> Response:
    return await _verify(adapter, who, store, permissions)
