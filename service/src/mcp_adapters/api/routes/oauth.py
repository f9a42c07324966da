"""RFC 9728 protected-resource metadata: where MCP clients learn which authorization server to sign in at.

Served without authentication (the client has no token yet) and the same for every well-formed
adapter name, existing or not, so it reveals nothing an anonymous caller may not know. In
development mode there is no authorization server: 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from mcp_infra.spec import is_adapter_name

from mcp_adapters.api.deps import RuntimeDep
from mcp_adapters.auth.resource import WELL_KNOWN, ProtectedResourceMetadata
from mcp_adapters.errors import NotFound
from mcp_adapters.runtime import Runtime
from mcp_adapters.views import endpoint_path

router = APIRouter(tags=["auth"])


def problem_response(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI response that is an RFC 9457 problem (the `Problem` schema the other routes register)."""
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {"description": description, "content": content} | ({"headers": headers} if headers else {})


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem_response("Development mode (no authorization server), or not an adapter endpoint's name"),
}


def _metadata(runtime: Runtime, request: Request, path: str) -> ProtectedResourceMetadata:
    resource = runtime.auth.resource
    if resource is None:
        raise NotFound(
            "development mode has no authorization server: MCP clients call without signing in, named by the "
            "X-Dev-UserId / X-Dev-Roles headers"
        )
    return resource.metadata(request, path)


@router.get(
    WELL_KNOWN,
    response_model=ProtectedResourceMetadata,
    responses=_NOT_FOUND,
    summary="Protected-resource metadata of the API (RFC 9728)",
)
async def service_metadata(request: Request, runtime: RuntimeDep) -> ProtectedResourceMetadata:
    return _metadata(runtime, request, "")


@router.get(
    WELL_KNOWN + "/adapters/{name}/mcp",
    response_model=ProtectedResourceMetadata,
    responses=_NOT_FOUND,
    summary="Protected-resource metadata of an adapter's MCP endpoint (RFC 9728, path-inserted)",
)
async def adapter_metadata(name: str, request: Request, runtime: RuntimeDep) -> ProtectedResourceMetadata:
    if not is_adapter_name(name):
        raise NotFound(f"{name!r} cannot name an adapter (a DNS label: lowercase letters, digits, '-')")
    return _metadata(runtime, request, endpoint_path(name))
