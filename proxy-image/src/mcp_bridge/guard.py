"""Host and Origin checks against DNS rebinding: a browser page must not reach a bridge on loopback."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_bridge._http import header, send_error
from mcp_bridge.errors import Forbidden
from mcp_bridge.settings import BridgeSettings

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _hostname(value: str) -> str:
    """`Host` value without its port, lower-case, IPv6 brackets removed."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _is_loopback_bind(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostOriginGuard:
    """Refuses requests whose Host or Origin is not allowed.

    Bound to loopback, only loopback names are allowed unless more are listed
    (`MCP_BRIDGE_ALLOWED_HOSTS`); bound elsewhere (a pod), any Host is allowed
    unless a list is given. A browser's Origin must always name an allowed host
    or be listed in `MCP_BRIDGE_ALLOWED_ORIGINS`.
    """

    def __init__(self, app: ASGIApp, settings: BridgeSettings) -> None:
        self.app = app
        listed = set(settings.allowed_host_list())
        self.any_host = "*" in listed or (not listed and not _is_loopback_bind(settings.host))
        self.hosts = {_hostname(h) for h in listed if h != "*"} | _LOOPBACK_NAMES
        self.origins = set(settings.allowed_origin_list())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _hostname(header(scope, b"host") or "")
        if not self.any_host and not self._host_allowed(host):
            await self._refuse(send, f"Host {host!r} is not allowed (MCP_BRIDGE_ALLOWED_HOSTS)")
            return
        origin = header(scope, b"origin")
        if origin is not None and not self._origin_allowed(origin, host):
            await self._refuse(send, f"Origin {origin!r} is not allowed (MCP_BRIDGE_ALLOWED_ORIGINS)")
            return
        await self.app(scope, receive, send)

    def _host_allowed(self, host: str) -> bool:
        # `*.peers.ns.svc.cluster.local` admits one or more labels in front of the suffix (the replicas' names).
        return host in self.hosts or any(p.startswith("*.") and host.endswith(p[1:]) for p in self.hosts)

    def _origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.strip().lower().rstrip("/")
        if "*" in self.origins or origin in self.origins:
            return True
        origin_host = urlsplit(origin).hostname or ""
        if self.any_host:
            return origin_host == host
        return self._host_allowed(origin_host)

    async def _refuse(self, send: Send, message: str) -> None:
        await send_error(send, Forbidden(f"Forbidden: {message}"))
