"""Whatever a caller sends, the answer is a 4xx problem that names the field and the fix, never a 500."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROOT
from tests.service.conftest import everything_spec

PROBLEM = "application/problem+json"


@pytest.fixture
def api(make_client: Any) -> TestClient:
    client: TestClient = make_client()
    return client


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def test_every_documented_example_is_accepted_unchanged(api: TestClient) -> None:
    for example in sorted((ROOT / "docs" / "examples").glob("*.json")):
        payload = json.loads(example.read_text())
        response = api.post("/adapters?dryRun=true", json=payload)
        assert response.status_code == 200, (example.name, response.text)
        assert response.json()["adapter"]["name"] == payload["name"]


def test_malformed_json_wrong_media_type_and_empty_body(api: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    assert "not valid JSON" in problem(api.post("/adapters", content=b'{"name": ', headers=headers), 400)["detail"]
    problem(api.post("/adapters", content=b"", headers=headers), 400)
    problem(api.post("/adapters", content=b"name=x", headers={"Content-Type": "text/plain"}), 415)
    problem(api.post("/adapters", json=["a", "list"]), 422)


def test_wrong_types_unknown_and_server_managed_fields_are_named(api: TestClient) -> None:
    body = problem(api.post("/adapters", json={**everything_spec("x"), "replicaCount": "many"}), 422)
    assert [e["field"] for e in body["errors"]] == ["replicaCount"]
    body = problem(api.post("/adapters", json={**everything_spec("x"), "imageNmae": "typo"}), 422)
    assert "imageNmae" in body["errors"][0]["message"]
    for field in ("createdBy", "createdAt", "generation", "status", "lastUpdatedAt"):
        body = problem(api.post("/adapters", json={**everything_spec("x"), field: "1"}), 422)
        assert body["errors"][0]["field"] == field
        assert "managed by the server" in body["errors"][0]["message"]


@pytest.mark.parametrize("name", ["Upper", "-dash", "dash-", "a" * 64, "under_score", "1digit", ""])
def test_invalid_names_are_refused(api: TestClient, name: str) -> None:
    body = problem(api.post("/adapters", json=everything_spec("x") | {"name": name}), 422)
    assert body["errors"][0]["field"] == "name"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("imageName", "Bad Image"),
        ("imageVersion", "-1"),
        ("environmentVariables", {"1BAD": "x"}),
        ("environmentVariables", {"MCP_COMMAND": "a", "MCP_PROXY_URL": "https://x"}),
        ("requiredRoles", ["has space"]),
    ],
)
def test_invalid_fields_are_refused_with_the_field(api: TestClient, field: str, value: Any) -> None:
    body = problem(api.post("/adapters", json=everything_spec("x") | {field: value}), 422)
    assert body["errors"][0]["field"].startswith(field)


def test_replicas_outside_the_platform_bounds(make_client: Any) -> None:
    api = make_client(max_replicas=3)
    body = problem(api.post("/adapters", json=everything_spec("x", replicas=4)), 422)
    assert body["errors"] == [{"field": "replicaCount", "message": "must be between 1 and 3"}]


def test_huge_bodies_are_refused_before_they_are_read(api: TestClient) -> None:
    huge = everything_spec("x") | {"description": "x" * (2 * 1024 * 1024)}
    problem(api.post("/adapters", json=huge), 413)

    def chunks() -> Any:  # no Content-Length: counted as it streams in
        for _ in range(40):
            yield b" " * 65536

    problem(api.post("/adapters", content=chunks(), headers={"Content-Type": "application/json"}), 413)


def test_only_the_data_plane_route_is_exempt_from_the_body_limit(start_service: Any) -> None:
    """An adapter may be called `mcp`: `PUT /adapters/mcp` announcing 64 MiB is refused before a byte is read."""
    service = start_service()
    for method, path in (("PUT", "/adapters/mcp"), ("POST", "/adapters/x/mcp/extra"), ("PUT", "/adapters/x/mcp")):
        with socket.create_connection(("127.0.0.1", service.port), timeout=10) as conn:
            conn.sendall(
                f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {64 * 1024 * 1024}\r\n\r\n".encode()
            )
            head = conn.recv(4096).decode("latin-1")  # no body was sent: only a refusal can come back
        assert head.startswith("HTTP/1.1 413 "), (method, path, head)
        assert "application/problem+json" in head


def test_unknown_routes_methods_and_adapters(api: TestClient) -> None:
    problem(api.get("/nope"), 404)
    problem(api.patch("/adapters/x"), 405)
    problem(api.get("/adapters/missing"), 404)
    problem(api.get("/adapters/missing/status"), 404)
    problem(api.put("/adapters/missing", json=everything_spec("missing")), 404)
    problem(api.delete("/adapters/missing"), 404)
    problem(api.get("/adapters/BAD_NAME"), 422)


def test_conflicts_and_renames(api: TestClient) -> None:
    assert api.post("/adapters", json=everything_spec("dup")).status_code == 201
    assert "PUT /adapters/dup" in problem(api.post("/adapters", json=everything_spec("dup")), 409)["detail"]
    problem(api.put("/adapters/dup", json=everything_spec("other")), 422)


def test_unsupported_image_gets_a_condition_not_a_silent_success(api: TestClient) -> None:
    spec = everything_spec("foreign") | {"imageName": "someone/else", "imageVersion": "2"}
    assert api.post("/adapters", json=spec).status_code == 201

    from tests.service.conftest import wait_for

    status = wait_for(
        lambda: (s := api.get("/adapters/foreign/status").json())["phase"] == "Failed" and s, what="Failed"
    )
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "UnsupportedImage"
    assert "mcp-proxy" in ready["message"]


def test_openapi_documents_the_api(api: TestClient, tmp_path: Path) -> None:
    spec = api.get("/openapi.json").json()
    assert {"/adapters", "/adapters/{name}", "/adapters/{name}/status", "/adapters/{name}/logs"} <= set(spec["paths"])
    assert "dryRun" in json.dumps(spec["paths"]["/adapters"]["post"])
    assert api.get("/docs").status_code == 200
