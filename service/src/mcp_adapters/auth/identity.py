"""The caller, as every route and the data plane see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from mcp_adapters.auth.resource import ProtectedResource


@dataclass(frozen=True)
class Identity:
    user_id: str
    roles: frozenset[str]

    def has_any(self, roles: object) -> bool:
        return bool(self.roles.intersection(roles))  # type: ignore[arg-type]


class Authenticator(Protocol):
    mode: str

    @property
    def warning(self) -> str | None:
        """What an operator must know about this mode (development: any local caller is anyone), or None."""
        ...

    @property
    def resource(self) -> ProtectedResource | None:
        """Where MCP clients sign in (RFC 9728), or None when there is no authorization server."""
        ...

    async def authenticate(self, request: HTTPConnection) -> Identity:
        """The caller's identity, or `Unauthenticated` with a `WWW-Authenticate` challenge."""
        ...

    async def aclose(self) -> None: ...
