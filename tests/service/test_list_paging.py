"""`GET /adapters`: the plain list mcp-gateway's clients read, pages (`limit` + a continue token) and filters."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import wait_for

ALICE = {"X-Dev-UserId": "alice", "X-Dev-Roles": "mcp.admin"}
BOB = {"X-Dev-UserId": "bob", "X-Dev-Roles": "none"}


def listed_only(name: str) -> dict[str, Any]:
    """An adapter the local target refuses at once (its image): it settles as Failed and starts no process."""
    return {"name": name, "imageName": "listed-only", "imageVersion": "1"}


@pytest.fixture
def api(make_client: Any) -> TestClient:
    client: TestClient = make_client()
    for i in range(7):
        owner = BOB if i % 3 == 0 else ALICE  # bob creates a0, a3, a6
        assert client.post("/adapters", json=listed_only(f"a{i}"), headers=owner).status_code == 201
    return client


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [adapter["name"] for adapter in response.json()]


def test_the_plain_list_is_unchanged(api: TestClient) -> None:
    plain = api.get("/adapters", headers=ALICE)
    assert names(plain) == [f"a{i}" for i in range(7)]
    assert "x-continue" not in plain.headers


def test_pages_walk_the_list_in_name_order(api: TestClient) -> None:
    pages, url = [], "/adapters?limit=3"
    while url:
        page = api.get(url, headers=ALICE)
        pages.append(names(page))
        link = page.headers.get("link")
        url = link[1 : link.index(">")] if link else ""
        assert (page.headers.get("x-continue") is None) == (link is None)
    assert pages == [["a0", "a1", "a2"], ["a3", "a4", "a5"], ["a6"]]


def test_a_page_holds_only_what_the_caller_may_see(api: TestClient) -> None:
    first = api.get("/adapters?limit=2", headers=BOB)
    assert names(first) == ["a0", "a3"]
    rest = api.get(f"/adapters?limit=2&continue={first.headers['x-continue']}", headers=BOB)
    assert names(rest) == ["a6"]
    assert "x-continue" not in rest.headers


def test_filters_by_creator_and_phase(api: TestClient) -> None:
    assert names(api.get("/adapters?createdBy=bob", headers=ALICE)) == ["a0", "a3", "a6"]
    wait_for(
        lambda: {a["status"]["phase"] for a in api.get("/adapters", headers=ALICE).json()} == {"Failed"},
        what="every adapter refused by the local target",
    )
    assert len(names(api.get("/adapters?phase=Failed", headers=ALICE))) == 7
    assert names(api.get("/adapters?phase=Ready", headers=ALICE)) == []
    assert names(api.get("/adapters?phase=Failed&createdBy=bob&limit=2", headers=ALICE)) == ["a0", "a3"]


@pytest.mark.parametrize("query", ["continue=bm9wZQ", "continue=%%%", "limit=0", "limit=5000", "phase=Sleeping"])
def test_bad_paging_input_is_a_clear_4xx(api: TestClient, query: str) -> None:
    refused = api.get(f"/adapters?{query}", headers=ALICE)
    assert refused.status_code in (400, 422), refused.text
    assert refused.json()["detail"]
