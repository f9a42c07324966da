"""What a caller's request carries to an adapter: MCP's own headers, and the identity this service established."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from mcp_adapters.auth.identity import Identity
from mcp_adapters.dataplane.relay import relay
from mcp_adapters.targets.base import Endpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.service.conftest import wait_for

SPOOFED = {
    "Authorization": "Bearer caller-token",
    "Cookie": "session=caller",
    "X-Forwarded-User": "admin",
    "X-Forwarded-Email": "admin@example.com",
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Host": "evil.example",
    "X-Real-IP": "203.0.113.9",
    "Forwarded": "for=203.0.113.9",
    "X-Auth-Request-User": "admin",
    "X-Auth-Request-Email": "admin@example.com",
    "X-Mcp-UserId": "admin",
    "X-Mcp-Roles": "mcp.admin",
    "X-Dev-UserId": "admin",
    "X-Ms-Client-Principal-Name": "admin",
    "X-Remote-User": "admin",
}


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_POST(self) -> None:
        _Recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
        self._drain_body()
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Mcp-Session-Id", "r-0.abc")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drain_body(self) -> None:
        if self.headers.get("transfer-encoding", "").lower() != "chunked":
            self.rfile.read(int(self.headers.get("content-length") or 0))
            return
        while size := int(self.rfile.readline().split(b";")[0], 16):  # the relay streams: chunked
            self.rfile.read(size + 2)
        self.rfile.readline()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def replica() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_identity_claims_and_credentials_stop_at_the_data_plane(replica: str) -> None:
    async def endpoint(request: Request) -> Response:
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await relay(client, request, Endpoint("a-0", replica, True), Identity("carol", frozenset({"r"})))
            body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]
            return Response(body, response.status_code, dict(response.headers))

    app = Starlette(routes=[Route("/mcp", endpoint, methods=["POST"])])
    with TestClient(app, client=("127.0.0.1", 50000)) as caller:
        answer = caller.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={
                **SPOOFED,
                "Accept": "application/json, text/event-stream",
                "Mcp-Protocol-Version": "2025-11-25",
                "Mcp-Session-Id": "r-0.abc",
                "Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            },
        )
    assert answer.status_code == 200
    assert answer.headers["mcp-session-id"] == "r-0.abc"
    got = wait_for(lambda: _Recorder.seen, what="the replica to see the request")[0]
    # MCP's own headers pass, so the session and the protocol era reach the adapter ...
    assert got["mcp-protocol-version"] == "2025-11-25"
    assert got["mcp-session-id"] == "r-0.abc"
    assert got["traceparent"].startswith("00-0af7")
    # ... and who the caller is comes from this service alone.
    assert (got["x-mcp-userid"], got["x-mcp-roles"], got["x-forwarded-for"]) == ("carol", "r", "127.0.0.1")
    for name in SPOOFED:
        if name.lower() not in ("x-mcp-userid", "x-mcp-roles", "x-forwarded-for"):
            assert name.lower() not in got, name


def test_the_access_log_believes_no_forwarding_header_unless_a_proxy_is_configured(start_service: Any) -> None:
    service = start_service()
    with service.api(**{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}) as api:
        assert api.get("/healthz").status_code == 200
    line = wait_for(
        lambda: [ln for ln in service.log().splitlines() if "GET /healthz" in ln], what="an access log line"
    )
    assert "203.0.113.9" not in service.log()
    assert "127.0.0.1" in line[0]

    trusting = start_service(state_dir=service.state_dir.parent / "state-2", MCP_ADAPTERS_TRUSTED_PROXIES="127.0.0.1")
    with trusting.api(**{"X-Forwarded-For": "203.0.113.9"}) as api:
        assert api.get("/healthz").status_code == 200
    wait_for(lambda: "203.0.113.9" in trusting.log(), what="the configured proxy's word to be taken")
