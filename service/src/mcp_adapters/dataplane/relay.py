"""Stream one MCP HTTP exchange to a replica and back, unbuffered both ways (SSE passes through live)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from mcp_bridge.reverse_proxy import end_to_end
from starlette.requests import Request
from starlette.responses import StreamingResponse

from mcp_adapters import metrics
from mcp_adapters.auth.identity import Identity
from mcp_adapters.errors import BadGateway
from mcp_adapters.targets.base import Endpoint

# What a caller's request may carry to the adapter: MCP's own headers and content negotiation. Everything
# else stops here (an allow-list: credentials, cookies, and any identity claim such as X-Forwarded-User,
# X-Auth-Request-*, X-Real-IP or Forwarded); the adapter gets the identity this service established instead.
PASSED = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "content-type",
        "last-event-id",
        "user-agent",
        "traceparent",
        "tracestate",
    }
)


class GatewayTimeout(BadGateway):
    """The replica was reached but did not answer in time."""

    status = 504


def _passed(name: str) -> bool:
    lower = name.lower()
    return lower in PASSED or lower.startswith("mcp-")


def _request_headers(request: Request, who: Identity) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if _passed(k)]
    headers += [("X-Mcp-UserId", who.user_id), ("X-Mcp-Roles", ",".join(sorted(who.roles)))]
    if request.client is not None:  # the peer, or what a configured trusted proxy said it is (TRUSTED_PROXIES)
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
        raise GatewayTimeout(f"replica {endpoint.replica_id} did not answer in time") from exc
    except httpx.HTTPError as exc:
        metrics.DATAPLANE_ERRORS.labels("unreachable").inc()
        raise BadGateway(f"replica {endpoint.replica_id} cannot be reached: {type(exc).__name__}") from exc
    metrics.DATAPLANE_REQUESTS.labels(request.method, str(upstream.status_code)).inc()

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.HTTPError:
            return  # the replica went away mid-stream; the client sees the stream end
        finally:
            await upstream.aclose()

    response = StreamingResponse(body(), status_code=upstream.status_code)
    response.raw_headers = end_to_end(upstream.headers.raw)  # every copy of a repeated header
    return response
