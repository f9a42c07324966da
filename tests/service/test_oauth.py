"""MCP clients sign in the way the MCP authorization spec says (RFC 9728 metadata, a 401 challenge naming it).

The end-to-end test drives the `mcp` SDK's own OAuth client against a real `mcp-adapters serve`
and an OpenID provider stand-in shaped like Entra ID, both on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp_adapters.auth.resource import ProtectedResource, default_scope
from mcp_adapters.settings import Settings
from pydantic import AnyUrl

from tests.service.conftest import ServiceProcess, everything_spec, wait_for
from tests.service.identity_provider import AUDIENCE, IdentityProvider, Keys
from tests.service.test_auth import TRUSTED

CLIENT_ID = "an-mcp-client"
REDIRECT = "http://127.0.0.1:33418/callback"  # never connected to: the browser stand-in reads the redirect


def challenge(response: Any) -> dict[str, str]:
    """The parameters of a response's `WWW-Authenticate: Bearer ...` challenge."""
    scheme, _, params = str(response.headers["www-authenticate"]).partition(" ")
    assert scheme == "Bearer"
    return {k: v.strip('"') for k, v in parse_qsl(params.replace('", ', '"&'), keep_blank_values=True)}


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    idp = IdentityProvider(Keys(), clients={CLIENT_ID: [REDIRECT]}, user="carol", roles=["Tools.Call"]).start()
    yield idp
    idp.stop()


@pytest.fixture
def entra_app(make_client: Any, provider: IdentityProvider) -> TestClient:
    api: TestClient = make_client(
        entra_issuers=provider.issuer,
        entra_audiences=AUDIENCE,
        entra_jwks_url=provider.jwks_url,
        trusted_servers=TRUSTED,
    )
    return api


def test_the_challenge_names_the_adapter_endpoints_metadata(entra_app: TestClient, provider: IdentityProvider) -> None:
    api = entra_app
    alice = {"Authorization": f"Bearer {provider.keys.token('alice', iss=provider.issuer)}"}
    assert api.post("/adapters", json=everything_spec("exists"), headers=alice).status_code == 201

    documents = {}
    for name in ("exists", "ghost"):  # the challenge comes before the existence check: the caller is anonymous
        refused = api.post(f"/adapters/{name}/mcp", json={})
        assert refused.status_code == 401
        params = challenge(refused)
        assert (
            params["resource_metadata"] == f"http://testserver/.well-known/oauth-protected-resource/adapters/{name}/mcp"
        )
        assert params["scope"] == "api://mcp-adapters/.default"
        assert "error" not in params  # no token sent: no error code (RFC 6750 §3.1)
        metadata = api.get(params["resource_metadata"])
        assert metadata.status_code == 200
        documents[name] = metadata.json()
        assert documents[name] == {
            "resource": f"http://testserver/adapters/{name}/mcp",
            "authorization_servers": [provider.issuer],
            "scopes_supported": ["api://mcp-adapters/.default"],
            "bearer_methods_supported": ["header"],
            "resource_name": "mcp-adapters",
        }
    # Nothing tells an anonymous caller which adapters exist.
    assert {k: v for k, v in documents["exists"].items() if k != "resource"} == {
        k: v for k, v in documents["ghost"].items() if k != "resource"
    }
    assert api.get("/.well-known/oauth-protected-resource/adapters/Not_A_Name/mcp").status_code == 404

    # A bad token: the same pointer, with the reason.
    expired = challenge(api.post("/adapters/exists/mcp", json={}, headers={"Authorization": "Bearer x.y.z"}))
    assert expired["error"] == "invalid_token"
    assert expired["resource_metadata"].endswith("/adapters/exists/mcp")

    # Forward auth answers for the adapter's endpoint, which the ingress fronts.
    for path in ("/adapters/exists/verify", "/auth/verify?adapter=exists"):
        assert challenge(api.get(path))["resource_metadata"].endswith("/oauth-protected-resource/adapters/exists/mcp")

    # The API as a whole: the root document.
    root = challenge(api.get("/adapters"))["resource_metadata"]
    assert root == "http://testserver/.well-known/oauth-protected-resource"
    assert api.get(root).json()["resource"] == "http://testserver"


def test_the_public_url_names_what_clients_reach(make_client: Any, tmp_path: Path) -> None:
    api = make_client(
        state_dir=tmp_path / "public",
        entra_tenant_id="contoso",
        entra_audiences="11111111-2222-3333-4444-555555555555",
        trusted_servers=TRUSTED,
        public_url="https://mcp.example.com/",
    )
    params = challenge(api.get("/adapters/x/mcp"))
    assert params["resource_metadata"] == "https://mcp.example.com/.well-known/oauth-protected-resource/adapters/x/mcp"
    assert params["scope"] == "api://11111111-2222-3333-4444-555555555555/.default"
    document = api.get("/.well-known/oauth-protected-resource/adapters/x/mcp").json()
    assert document["resource"] == "https://mcp.example.com/adapters/x/mcp"
    assert document["authorization_servers"] == ["https://login.microsoftonline.com/contoso/v2.0"]
    with pytest.raises(ValueError, match="PUBLIC_URL must be an origin"):
        Settings(public_url="https://mcp.example.com/prefix")


def test_scopes_are_a_setting() -> None:
    settings = Settings(
        entra_tenant_id="t", entra_audiences=["api://a", "api://b"], entra_scopes=["api://a/Tools.Call"]
    )
    assert ProtectedResource(settings).scopes == ["api://a/Tools.Call"]
    assert default_scope("api://mcp-adapters/") == "api://mcp-adapters/.default"


def test_development_mode_has_no_authorization_server(make_client: Any) -> None:
    api = make_client()
    assert api.get("/.well-known/oauth-protected-resource").status_code == 404
    assert api.get("/.well-known/oauth-protected-resource/adapters/x/mcp").status_code == 404
    assert api.post("/adapters/x/mcp", json={}).status_code == 404  # today's behaviour: the default user, no 401


# --- the MCP SDK's OAuth client, end to end ------------------------------------------------------


class Browser:
    """The user's browser: already signed in, it follows /authorize to the client's redirect URI."""

    def __init__(self) -> None:
        self.result: AuthorizationCodeResult | None = None

    async def open(self, url: str) -> None:
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.get(url)
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
        query = parse_qs(location.query)
        self.result = AuthorizationCodeResult(code=query["code"][0], state=query["state"][0])

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None, "the client asked for the callback before opening the browser"
        return self.result


class Storage:
    """Tokens in memory; the client registered beforehand, as Entra ID has no dynamic registration."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client = OAuthClientInformationFull(
            client_id=CLIENT_ID,
            redirect_uris=[AnyUrl(REDIRECT)],
            token_endpoint_auth_method="none",
        )

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def sign_in(url: str, storage: Storage) -> OAuthClientProvider:
    browser = Browser()
    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[AnyUrl(REDIRECT)],
            client_name="an MCP client",
            token_endpoint_auth_method="none",
            grant_types=["authorization_code"],
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )


def text(result: Any) -> str:
    assert not result.is_error, result
    return str(result.content[0].text)


@pytest.mark.anyio
async def test_an_mcp_client_signs_in_and_calls_a_tool(start_service: Any, provider: IdentityProvider) -> None:
    service: ServiceProcess = start_service(  # no AUTH_MODE, on loopback: the Entra ID settings decide
        MCP_ADAPTERS_ENTRA_ISSUERS=provider.issuer,
        MCP_ADAPTERS_ENTRA_AUDIENCES=AUDIENCE,
        MCP_ADAPTERS_ENTRA_JWKS_URL=provider.jwks_url,
        MCP_ADAPTERS_TRUSTED_SERVERS=json.dumps(TRUSTED),
    )
    assert "development mode" not in service.log()
    admin = service.api(Authorization=f"Bearer {provider.keys.token('root', ['mcp.admin'], iss=provider.issuer)}")
    created = admin.post("/adapters", json=everything_spec("signed", requiredRoles=["Tools.Call"]))
    assert created.status_code == 201, created.text
    wait_for(lambda: admin.get("/adapters/signed/status").json()["phase"] == "Ready", what="the adapter to be Ready")

    url = f"{service.url}/adapters/signed/mcp"
    storage = Storage()
    async with httpx2.AsyncClient(auth=sign_in(url, storage), timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
            assert text(await client.call_tool("echo", {"message": "signed in"})) == "signed in"
        # The token is kept: a second session (the stateless era this time) needs no second sign-in.
        async with Client(streamable_http_client(url, http_client=http), mode="2026-07-28") as client:
            assert text(await client.call_tool("echo", {"message": "again"})) == "again"

    # What the provider saw: OpenID discovery at the issuer, one PKCE code flow for this endpoint and scope.
    assert f"/{provider.tenant}/v2.0/.well-known/openid-configuration" in provider.paths
    [authorization] = provider.authorizations
    assert authorization["scope"] == "api://mcp-adapters/.default"
    assert authorization["code_challenge_method"] == "S256"
    assert authorization["resource"] == url  # RFC 8707: the resource the metadata named
    [exchange] = provider.token_requests
    assert exchange["grant_type"] == "authorization_code"
    assert storage.tokens is not None

    # The signed-in user is who the control plane says it is; someone without the role is told nothing exists.
    verified = service.api(Authorization=f"Bearer {storage.tokens.access_token}").get("/adapters/signed/verify")
    assert (verified.status_code, verified.headers["x-mcp-userid"]) == (200, "carol")
    mallory = provider.keys.token("mallory", iss=provider.issuer)
    assert service.api(Authorization=f"Bearer {mallory}").post(url, json={}).status_code == 404
