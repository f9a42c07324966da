"""Stream one MCP HTTP exchange to a replica and back, unbuffered both ways (SSE passes through live)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.requests import Request
from starlette.responses import StreamingResponse

from mcp_adapters import metrics
from mcp_adapters.auth.identity import Identity
from mcp_adapters.errors import BadGateway, ServiceError
from mcp_adapters.targets.base import Endpoint

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# The caller's credentials and claimed identity stop here; the adapter gets ours.
STRIPPED = HOP_BY_HOP | {
    "host",
    "authorization",
    "cookie",
    "x-dev-userid",
    "x-dev-roles",
    "x-mcp-userid",
    "x-mcp-roles",
    "origin",
}


def _request_headers(request: Request, who: Identity) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in STRIPPED]
    headers += [("X-Mcp-UserId", who.user_id), ("X-Mcp-Roles", ",".join(sorted(who.roles)))]
    if request.client is not None:
        headers.append(("X-Forwarded-For", request.client.host))
    return headers


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def relay(client: httpx.AsyncClient, request: Request, endpoint: Endpoint, who: Identity) -> StreamingResponse:
    has_body = request.method == "POST"
    upstream_request = client.build_request(
        request.method,
        f"{endpoint.url}/mcp",
        params=request.query_params,
        headers=_request_headers(request, who),
        content=_body(request) if has_body else None,
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TimeoutException as exc:
        metrics.DATAPLANE_ERRORS.labels("timeout").inc()
        raise _gateway(504, f"replica {endpoint.replica_id} did not answer in time") from exc
    except httpx.HTTPError as exc:
        metrics.DATAPLANE_ERRORS.labels("unreachable").inc()
        raise BadGateway(f"replica {endpoint.replica_id} cannot be reached: {type(exc).__name__}") from exc
    metrics.DATAPLANE_REQUESTS.labels(request.method, str(upstream.status_code)).inc()
    headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.HTTPError:
            return  # the replica went away mid-stream; the client sees the stream end
        finally:
            await upstream.aclose()

    return StreamingResponse(body(), status_code=upstream.status_code, headers=headers)


def _gateway(status: int, detail: str) -> ServiceError:
    error = BadGateway(detail)
    error.status = status  # type: ignore[misc]
    return error
