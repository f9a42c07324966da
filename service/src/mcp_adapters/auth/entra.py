"""Entra ID (OIDC) bearer tokens: issuer, audience, RS256 signature from the tenant's JWKS, expiry with leeway.

Signing keys are cached and re-fetched when a token names a key id the cache
does not know (key rotation), at most once per `jwks_cache_seconds` otherwise.
A refusal's challenge names the protected-resource metadata, so MCP clients can sign in (`resource.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
from starlette.requests import HTTPConnection

from mcp_adapters.auth.identity import Identity
from mcp_adapters.auth.resource import ENTRA_LOGIN, ProtectedResource
from mcp_adapters.errors import Unauthenticated
from mcp_adapters.settings import Settings


class EntraAuthenticator:
    mode = "entra"
    warning: str | None = None

    def __init__(self, settings: Settings) -> None:
        tenant = settings.entra_tenant_id
        self.issuers = settings.entra_issuers or [f"{ENTRA_LOGIN}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/"]
        self.audiences = list(settings.entra_audiences)
        self.leeway = settings.jwt_leeway_seconds
        jwks_url = settings.entra_jwks_url or f"{ENTRA_LOGIN}/{tenant}/discovery/v2.0/keys"
        self._jwks = jwt.PyJWKClient(
            jwks_url,
            cache_keys=True,
            lifespan=settings.jwks_cache_seconds,
            timeout=10,
            cooldown_duration=settings.jwks_refresh_cooldown_seconds,
        )
        self.resource = ProtectedResource(settings)

    async def authenticate(self, request: HTTPConnection) -> Identity:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._refuse(request, _Rejected("a bearer token is required (Authorization: Bearer <access token>)"))
        try:
            claims = await asyncio.to_thread(self._verify, token.strip())
        except _Rejected as rejected:
            raise self._refuse(request, rejected) from None
        user = claims.get("oid") or claims.get("sub")
        if not isinstance(user, str) or not user:
            raise self._refuse(request, _Rejected("the token names no user (oid or sub claim)", "invalid_token"))
        roles = claims.get("roles", [])
        if not isinstance(roles, list):
            roles = []
        return Identity(user, frozenset(str(r) for r in roles))

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                audience=self.audiences,
                issuer=self.issuers,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _Rejected("the token has expired", "invalid_token") from None
        except jwt.PyJWKClientConnectionError:
            raise _Rejected(
                "the signing keys cannot be fetched right now; try again", "temporarily_unavailable"
            ) from None
        except jwt.InvalidAudienceError:
            raise _Rejected("the token is for another audience", "invalid_token") from None
        except jwt.InvalidIssuerError:
            raise _Rejected("the token comes from an issuer this service does not trust", "invalid_token") from None
        except (jwt.PyJWTError, ValueError) as exc:
            raise _Rejected(f"the token is not valid: {type(exc).__name__}", "invalid_token") from None
        return claims

    async def aclose(self) -> None:
        return None

    def _refuse(self, request: HTTPConnection, rejected: _Rejected) -> Unauthenticated:
        challenge = self.resource.challenge(request, rejected.error, rejected.detail)
        return Unauthenticated(rejected.detail, headers={"WWW-Authenticate": challenge})


class _Rejected(Exception):
    """Why a token was refused, and the RFC 6750 error code for the challenge (none when no token was sent)."""

    def __init__(self, detail: str, error: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = error
