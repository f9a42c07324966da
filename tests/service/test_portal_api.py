"""What the portal stands on: `/` leads a browser there, its settings and templates, the operations over time,
and the guards every page and change request passes (strict CSP, no cross-origin changes)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from mcp_adapters.portal import STATIC

from tests.conftest import ROOT
from tests.service.conftest import everything_spec, wait_for
from tests.service.identity_provider import AUDIENCE, IdentityProvider, Keys
from tests.service.test_auth import TRUSTED


@pytest.fixture
def api(make_client: Any) -> TestClient:
    client: TestClient = make_client()
    return client


def test_a_browser_at_the_root_is_sent_to_the_portal(api: TestClient) -> None:
    redirect = api.get("/", headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/portal/")
    assert api.get("/", headers={"Accept": "application/json"}).json()["portal"] == "/portal/"


def test_development_mode_config_names_the_default_identity(api: TestClient) -> None:
    config = api.get("/portal/config").json()
    assert config == {
        "auth": "development",
        "user": {"id": "dev", "roles": ["mcp.admin"]},
        "adminRole": "mcp.admin",
        "workloadIdentityRoles": ["mcp.admin"],
        "entra": None,
    }


def test_entra_config_tells_the_browser_where_to_sign_in_and_nothing_secret(make_client: Any) -> None:
    idp = IdentityProvider(Keys(), clients={}, user="carol", roles=[]).start()
    try:
        api = make_client(
            entra_issuers=idp.issuer,
            entra_audiences=AUDIENCE,
            entra_jwks_url=idp.jwks_url,
            trusted_servers=TRUSTED,
            portal_client_id="portal-client",
            public_url="https://mcp.example.org",
        )
        config = api.get("/portal/config").json()  # before sign-in: no token needed
        assert config["auth"] == "entra"
        assert config["user"] is None
        assert config["entra"] == {
            "authority": idp.issuer,
            "clientId": "portal-client",
            "scopes": [f"{AUDIENCE}/.default" if "://" in AUDIENCE else f"api://{AUDIENCE}/.default"],
            "redirectUri": "https://mcp.example.org/portal/",
        }
        # The page may talk to the authorization server (discovery, token) and nowhere else.
        policy = api.get("/portal/config").headers["content-security-policy"]
        issuer = urlsplit(idp.issuer)
        assert f"connect-src 'self' {issuer.scheme}://{issuer.netloc};" in policy
        assert api.get("/portal/templates").status_code == 401  # templates are for signed-in callers
    finally:
        idp.stop()


def test_templates_are_the_documented_examples_and_a_local_demo(api: TestClient) -> None:
    found = {t["id"]: t for t in api.get("/portal/templates").json()}
    examples = {p.stem for p in (ROOT / "docs" / "examples").glob("*.json")}
    assert set(found) == examples | {"local-demo"}
    # Every template is a payload the API accepts as it is; development mode with no trusted-servers list
    # restricts nothing, so the review does not block what a create would run.
    for template in found.values():
        preview = api.post("/adapters?dryRun=true", json=template["payload"])
        assert preview.status_code == 200, (template["id"], preview.text)
    demo = api.post("/adapters?dryRun=true", json=found["local-demo"]["payload"]).json()
    assert (demo["allowed"], [f["policy"] for f in demo["findings"] if f["enforcement"] == "mandatory"]) == (True, [])


def test_with_a_trusted_list_the_review_blocks_what_it_refuses(make_client: Any) -> None:
    api = make_client(trusted_servers={"commands": ["npx"]})
    demo = next(t for t in api.get("/portal/templates").json() if t["id"] == "local-demo")
    review = api.post("/adapters?dryRun=true", json=demo["payload"]).json()
    assert review["allowed"] is False
    assert "trusted-servers" in {f["policy"] for f in review["findings"] if f["enforcement"] == "mandatory"}


def test_changes_from_another_origin_are_refused(api: TestClient) -> None:
    evil = {"Origin": "http://evil.example"}
    for method, path in (("POST", "/adapters"), ("PUT", "/adapters/x"), ("DELETE", "/adapters/x")):
        refused = api.request(method, path, json=everything_spec("x"), headers=evil)
        assert refused.status_code == 403, (method, path, refused.text)
        assert "another" in refused.json()["detail"] or "evil.example" in refused.json()["detail"]
    assert (
        api.post("/adapters/x/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=evil).status_code == 403
    )
    assert api.get("/adapters").json() == []  # nothing was created
    same = api.post("/adapters", json=everything_spec("x"), headers={"Origin": "http://testserver"})
    assert same.status_code == 201, same.text
    assert api.get("/adapters/x", headers=evil).status_code == 200  # reading is not a change


def test_pages_carry_a_strict_content_security_policy(api: TestClient) -> None:
    for path in ("/docs", "/portal/config"):
        policy = api.get(path).headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy


def test_operations_over_time_newest_first(api: TestClient) -> None:
    assert api.post("/adapters", json=everything_spec("ops")).status_code == 201
    wait_for(lambda: api.get("/adapters/ops/status").json()["phase"] == "Ready", what="ops Ready")
    assert api.put("/adapters/ops", json=everything_spec("ops", replicas=2)).status_code == 200
    wait_for(
        lambda: [op["generation"] for op in api.get("/adapters/ops/operations").json()][:1] == [2],
        what="an operation for generation 2",
    )
    operations = api.get("/adapters/ops/operations").json()
    assert [op["id"] for op in operations] == sorted((op["id"] for op in operations), reverse=True)
    assert {op["generation"] for op in operations} >= {1, 2}
    stranger = {"X-Dev-UserId": "eve", "X-Dev-Roles": "nobody"}
    assert api.get("/adapters/ops/operations", headers=stranger).status_code == 404


def test_the_portal_is_revalidated_and_loads_every_module_at_once(api: TestClient) -> None:
    page = api.get("/portal/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"  # an upgrade never leaves old JavaScript running
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/portal/js/([a-z]+\.js)">', page.text))
    assert preloaded == {p.name for p in (STATIC / "js").glob("*.js")}
    for name in preloaded:
        module = api.get(f"/portal/js/{name}")
        assert (module.status_code, module.headers["content-type"].split(";")[0]) == (200, "text/javascript")
