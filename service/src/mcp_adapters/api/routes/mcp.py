"""`/adapters/{name}/mcp`: the adapter's MCP endpoint, with its access rules applied here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from mcp_adapters import metrics
from mcp_adapters.api.deps import CurrentIdentity, RuntimeDep
from mcp_adapters.api.routes.adapters import PROBLEMS, AdapterName
from mcp_adapters.dataplane.relay import relay
from mcp_adapters.dataplane.router import UnknownSession
from mcp_adapters.errors import NotFound

router = APIRouter(tags=["data plane"])


async def mcp_endpoint(name: AdapterName, request: Request, who: CurrentIdentity, runtime: RuntimeDep) -> Response:
    row = runtime.permissions.require_call(who, await runtime.access.row(name), name)
    if row.deletion_requested:
        raise NotFound(f"adapter {name!r} is being deleted")
    session_id = request.headers.get("mcp-session-id")
    try:
        endpoint = runtime.router.pick(name, session_id)
    except UnknownSession:
        metrics.DATAPLANE_ERRORS.labels("unknown_session").inc()
        # What the MCP spec asks of a server that does not know the session: 404, so the client starts over.
        return JSONResponse(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": "Session not found: initialize again"}},
            status_code=404,
        )
    return await relay(runtime.upstream, request, endpoint, who)


for _method in ("POST", "GET", "DELETE"):
    router.add_api_route(
        "/adapters/{name}/mcp",
        mcp_endpoint,
        methods=[_method],
        operation_id=f"mcp_{_method.lower()}",
        responses=PROBLEMS,
        summary=f"The adapter's MCP endpoint: {_method} (streamable HTTP; sticky per Mcp-Session-Id)",
    )
