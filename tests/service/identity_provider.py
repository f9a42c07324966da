"""Signing keys and an OpenID provider stand-in shaped like Entra ID's v2.0 endpoints, on 127.0.0.1.

`Keys` makes RS256 tokens; `IdentityProvider` serves what an MCP client needs to sign in the way
the MCP authorization spec says: OpenID discovery at `<issuer>/.well-known/openid-configuration`,
an `/authorize` that redirects back with a code at once (the user is already signed in), a `/token`
that checks the PKCE verifier (RFC 7636, S256) and issues an access token, and the JWKS. Like Entra
ID it has no dynamic client registration (clients are registered beforehand) and answers a browser
page's discovery and token requests with CORS headers (a single-page app's public client).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://login.example.test/tenant/v2.0"
AUDIENCE = "api://mcp-adapters"


class Keys:
    """Signing keys the tests create, published as a JWKS."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.rotate("k1")

    def rotate(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.current = kid

    def jwks(self) -> bytes:
        entries = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            entries.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return json.dumps({"keys": entries}).encode()

    def token(self, user: str = "alice", roles: list[str] | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "oid": user, "roles": roles or [], "iat": now, "exp": now + 600}
        return jwt.encode({**body, **claims}, self.keys[self.current], algorithm="RS256", headers={"kid": self.current})


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    resource: str | None


@dataclass
class IdentityProvider:
    """Serves on 127.0.0.1 until `stop()`; `user` and `roles` are who the browser is signed in as."""

    keys: Keys
    clients: dict[str, list[str]]  # pre-registered client id -> its redirect URIs
    user: str = "carol"
    roles: list[str] = field(default_factory=list)
    tenant: str = "tenant"
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    _codes: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> IdentityProvider:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def issuer(self) -> str:
        return f"{self.origin}/{self.tenant}/v2.0"

    @property
    def jwks_url(self) -> str:
        return f"{self.origin}/{self.tenant}/discovery/v2.0/keys"

    def configuration(self) -> dict[str, Any]:
        endpoints = f"{self.origin}/{self.tenant}/oauth2/v2.0"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{endpoints}/authorize",
            "token_endpoint": f"{endpoints}/token",
            "jwks_uri": self.jwks_url,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.authorizations.append(query)
        redirect = query.get("redirect_uri", "")
        if redirect not in self.clients.get(query.get("client_id", ""), []):
            return 400, {}, {"error": "invalid_request", "error_description": "unknown client or redirect URI"}
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return 400, {}, {"error": "invalid_request", "error_description": "code flow with S256 PKCE only"}
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = Grant(
                query["client_id"], redirect, query["code_challenge"], query.get("scope", ""), query.get("resource")
            )
        back = {"code": code} | ({"state": query["state"]} if "state" in query else {})
        return 302, {"Location": f"{redirect}?{urlencode(back)}"}, None

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.token_requests.append(form)
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # a code is good once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {}, {"error": "invalid_grant", "error_description": "unknown or used code"}
        if (form.get("client_id"), form.get("redirect_uri")) != (grant.client_id, grant.redirect_uri):
            return 400, {}, {"error": "invalid_grant", "error_description": "client or redirect URI differ"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return 400, {}, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        token = self.keys.token(self.user, self.roles, iss=self.issuer, scp="user_impersonation", azp=grant.client_id)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": 600, "scope": grant.scope}
        return 200, {"Cache-Control": "no-store"}, body


def _handler(provider: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    base = f"/{provider.tenant}"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            provider.paths.append(url.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == f"{base}/v2.0/.well-known/openid-configuration":
                self._answer(200, {}, provider.configuration())
            elif url.path == f"{base}/discovery/v2.0/keys":
                self._answer(200, {}, json.loads(provider.keys.jwks()))
            elif url.path == f"{base}/oauth2/v2.0/authorize":
                self._answer(*provider.authorize(query))
            else:
                self._answer(404, {}, {"error": "not_found"})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            provider.paths.append(url.path)
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if url.path == f"{base}/oauth2/v2.0/token":
                self._answer(*provider.exchange(form))
            else:
                self._answer(404, {}, {"error": "not_found"})

        def _answer(self, status: int, headers: dict[str, str], body: Any) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if origin := self.headers.get("Origin"):  # as Entra ID does for a SPA's discovery and token requests
                self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    return Handler
