"""How an MCP client finds where to sign in: RFC 9728 protected-resource metadata and the 401 challenge naming it.

The MCP authorization spec (2025-06-18 and later): a request without a usable token gets 401 with
`WWW-Authenticate: Bearer resource_metadata="<url>"`; the client reads the metadata there, signs in
at the authorization server it names (Entra ID) for the scopes it lists, and comes back with a token
whose audience this service accepts. Each adapter endpoint has its metadata at the path-inserted
well-known URL (RFC 9728 §3.1); the API as a whole at the root one. The document is the same for
every adapter name but for `resource`, so it tells an anonymous caller nothing about which exist.
"""

from __future__ import annotations

import re

from mcp_infra.spec import is_adapter_name
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from mcp_adapters.settings import Settings
from mcp_adapters.views import endpoint_path

WELL_KNOWN = "/.well-known/oauth-protected-resource"
ENTRA_LOGIN = "https://login.microsoftonline.com"
# The adapter's own endpoint, and the forward-auth route the ingress asks on its behalf.
_ADAPTER_ROUTE = re.compile(r"^/adapters/([^/]+)/(?:mcp|verify)$")


class ProtectedResourceMetadata(BaseModel):
    """RFC 9728 §2, the fields MCP clients read."""

    resource: str = Field(description="The protected resource: the adapter's MCP endpoint, or the service.")
    authorization_servers: list[str] = Field(description="Issuers to sign in at (Entra ID's v2.0 issuer).")
    scopes_supported: list[str] = Field(description="Scopes to ask the authorization server for.")
    bearer_methods_supported: list[str] = Field(default_factory=lambda: ["header"])
    resource_name: str = "mcp-adapters"


def protected_path(request: HTTPConnection) -> str:
    """The resource a request is for: an adapter's MCP endpoint (also when the ingress asks whether the caller may
    use it), or "" for the API as a whole."""
    path = request.url.path
    if (match := _ADAPTER_ROUTE.fullmatch(path)) and is_adapter_name(match.group(1)):
        return endpoint_path(match.group(1))
    if path == "/auth/verify" and is_adapter_name(name := request.query_params.get("adapter", "")):
        return endpoint_path(name)
    return ""


def default_scope(audience: str) -> str:
    """Entra ID's scope for "whatever this API's app registration grants": `<application ID URI>/.default`
    (microsoft/mcp-gateway's `api://<client id>/.default` when the audience is a bare client id)."""
    return f"{audience.rstrip('/')}/.default" if "://" in audience else f"api://{audience}/.default"


class ProtectedResource:
    """The service as an OAuth protected resource: its metadata documents and its challenges."""

    def __init__(self, settings: Settings) -> None:
        tenant = settings.entra_tenant_id
        self.authorization_servers = list(settings.entra_issuers) or [f"{ENTRA_LOGIN}/{tenant}/v2.0"]
        self.scopes = list(settings.entra_scopes) or [default_scope(a) for a in settings.entra_audiences[:1]]
        self.public_url = settings.public_url

    def base_url(self, request: HTTPConnection) -> str:
        return self.public_url or str(request.base_url).rstrip("/")

    def metadata(self, request: HTTPConnection, path: str) -> ProtectedResourceMetadata:
        return ProtectedResourceMetadata(
            resource=self.base_url(request) + path,
            authorization_servers=self.authorization_servers,
            scopes_supported=self.scopes,
        )

    def metadata_url(self, request: HTTPConnection) -> str:
        return self.base_url(request) + WELL_KNOWN + protected_path(request)

    def challenge(self, request: HTTPConnection, error: str | None = None, description: str | None = None) -> str:
        """RFC 6750 §3 with RFC 9728 §5.1's `resource_metadata`; no `error` when no token was sent at all."""
        params = {"realm": "mcp-adapters", "resource_metadata": self.metadata_url(request)}
        if self.scopes:
            params["scope"] = " ".join(self.scopes)
        if error:
            params["error"] = error
            if description:
                params["error_description"] = description
        return "Bearer " + ", ".join(f'{k}="{_quotable(v)}"' for k, v in params.items())


def _quotable(value: str) -> str:
    return value.replace("\\", "").replace('"', "'")
