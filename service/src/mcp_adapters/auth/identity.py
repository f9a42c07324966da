"""The caller, as every route and the data plane see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import HTTPConnection


@dataclass(frozen=True)
class Identity:
    user_id: str
    roles: frozenset[str]

    def has_any(self, roles: object) -> bool:
        return bool(self.roles.intersection(roles))  # type: ignore[arg-type]


class Authenticator(Protocol):
    mode: str

    async def authenticate(self, request: HTTPConnection) -> Identity:
        """The caller's identity, or `Unauthenticated` with a `WWW-Authenticate` challenge."""
        ...

    async def aclose(self) -> None: ...
