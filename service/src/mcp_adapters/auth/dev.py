"""Development identity: whoever the `X-Dev-UserId` / `X-Dev-Roles` headers say (as microsoft/mcp-gateway).

Only ever on when the service listens on loopback, unless an operator forces it, and never when
Entra ID is configured. Without headers the caller is the configured default developer. There is
no authorization server, so MCP clients get no sign-in metadata: they just call.
"""

from __future__ import annotations

import re

from starlette.requests import HTTPConnection

from mcp_adapters.auth.identity import Identity
from mcp_adapters.errors import Unauthenticated

USER_HEADER = "X-Dev-UserId"
ROLES_HEADER = "X-Dev-Roles"
_VALID = re.compile(r"^[^\s,]{1,256}$")


def dev_mode_warning(default_user: str, default_roles: list[str]) -> str:
    roles = ", ".join(sorted(default_roles)) or "no roles"
    return (
        f"development mode: any local caller is whoever its {USER_HEADER} / {ROLES_HEADER} headers say, and a caller "
        f"without them is {default_user!r} ({roles}); configure Entra ID (MCP_ADAPTERS_ENTRA_*) for anything else"
    )


class DevAuthenticator:
    mode = "development"
    resource = None

    def __init__(self, default_user: str, default_roles: list[str]) -> None:
        self.default_user = default_user
        self.default_roles = frozenset(default_roles)
        self.warning = dev_mode_warning(default_user, default_roles)

    async def authenticate(self, request: HTTPConnection) -> Identity:
        user = request.headers.get(USER_HEADER)
        raw_roles = request.headers.get(ROLES_HEADER)
        if user is None and raw_roles is None:
            return Identity(self.default_user, self.default_roles)
        user = (user or self.default_user).strip()
        roles = frozenset(r.strip() for r in (raw_roles or "").split(",") if r.strip())
        if not _VALID.fullmatch(user) or not all(_VALID.fullmatch(r) for r in roles):
            raise Unauthenticated(
                f"{USER_HEADER} and {ROLES_HEADER} must be non-empty names without spaces or commas",
                headers={"WWW-Authenticate": 'DevHeaders realm="mcp-adapters"'},
            )
        return Identity(user, roles)

    async def aclose(self) -> None:
        return None
