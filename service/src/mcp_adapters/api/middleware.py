"""ASGI middleware that never buffers (the data plane streams through it): metrics, Host and Origin checks,
security headers."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_adapters import metrics
from mcp_adapters.api.problems import problem_response
from mcp_adapters.errors import BadRequest, Forbidden


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                metrics.REQUESTS.labels(scope["method"], route, str(message["status"])).inc()
                metrics.REQUEST_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - began)
            await send(message)

        await self.app(scope, receive, observe)


class HostGuard:
    """Refuse requests whose Host is not ours: with development identity on loopback, a web page
    that rebinds its DNS name to 127.0.0.1 must not be able to drive the API."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.allowed and "*" not in self.allowed:
            host = _header(scope, b"host") or ""
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.lower() not in self.allowed:
                refused = BadRequest(
                    f"Host {host!r} is not one this service answers to: add it to MCP_ADAPTERS_ALLOWED_HOSTS"
                )
                await problem_response(refused, scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)


_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _header(scope: Scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == name), None)


class OriginGuard:
    """Refuse state-changing requests a browser sends from another origin.

    A page elsewhere can make a browser POST to this service (a form, or `fetch` with a simple content type,
    which needs no preflight); with development identity on loopback that caller would be the admin. Browsers
    name the page's origin in `Origin`; clients that are not browsers send none and are not affected.
    """

    def __init__(self, app: ASGIApp, public_url: str | None) -> None:
        self.app = app
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _STATE_CHANGING:
            origin = _header(scope, b"origin")
            if origin is not None and not self._same_origin(scope, origin):
                refused = Forbidden(
                    f"a {scope['method']} from the page at {origin!r} is refused: this service takes changes only "
                    "from its own origin (its portal) and from clients that are not browsers"
                )
                await problem_response(refused, scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _same_origin(self, scope: Scope, origin: str) -> bool:
        if origin.rstrip("/") == self.public_url:
            return True
        parts = urlsplit(origin)
        host = _header(scope, b"host") or ""
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


class SecurityHeaders:
    """A strict Content-Security-Policy on every page (no inline script, assets only from here) and the usual
    hardening headers on every response."""

    def __init__(self, app: ASGIApp, connect_origins: list[str]) -> None:
        self.app = app
        connect = " ".join(["'self'", *connect_origins])
        self.policy = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
        ).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", self.policy),
                ]
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, secured)
