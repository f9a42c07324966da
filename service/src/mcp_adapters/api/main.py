"""The FastAPI application: routes, the error boundary, middleware, and the runtime's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI

from mcp_adapters import __version__
from mcp_adapters.api import problems
from mcp_adapters.api.middleware import HostGuard, OriginGuard, RequestMetrics, SecurityHeaders
from mcp_adapters.api.routes import adapters, docs, health, mcp, oauth, portal, status, verify
from mcp_adapters.auth.resource import ProtectedResource
from mcp_adapters.portal import STATIC, PortalFiles
from mcp_adapters.runtime import Runtime
from mcp_adapters.settings import LOOPBACK_NAMES, Settings

DESCRIPTION = """
Run MCP servers for your users. Create an adapter with `POST /adapters`; the
service records it and answers at once, and its reconciler brings the adapter's
replicas up. Call the adapter at `/adapters/{name}/mcp`.

Preview a create or change with `?dryRun=true` on `POST /adapters` or
`PUT /adapters/{name}`: the response lists what would run, the objects the
platform render produces and the policy findings; nothing is changed.

Errors are `application/problem+json` (RFC 9457) and name the field and the fix.
"""


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the runtime (database, migrations, target) is built now so bad settings fail here."""
    settings = settings or Settings()
    runtime = runtime or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="mcp-adapters",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # our own /docs: Swagger UI's assets from the service, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    problems.install(app)
    for module in (adapters, status, verify, mcp, health, oauth, portal, docs):
        app.include_router(module.router)
    app.mount("/docs/assets", docs.assets(), name="docs-assets")
    app.mount("/portal", PortalFiles(directory=STATIC, html=True, check_dir=False), name="portal")
    # Added innermost first: metrics see everything, security headers reach even the guards' refusals.
    app.add_middleware(problems.BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(OriginGuard, public_url=settings.public_url)
    allowed = settings.allowed_hosts or (sorted(LOOPBACK_NAMES | {"testserver"}) if settings.dev_mode else [])
    app.add_middleware(HostGuard, allowed=allowed)
    app.add_middleware(SecurityHeaders, connect_origins=_sign_in_origins(runtime.auth.resource))
    app.add_middleware(RequestMetrics)
    return app


def _sign_in_origins(resource: ProtectedResource | None) -> list[str]:
    """Where the portal's sign-in talks to (the authorization server's discovery and token endpoints)."""
    if resource is None:  # development mode: no authorization server
        return []
    parts = [urlsplit(server) for server in resource.authorization_servers]
    return sorted({f"{p.scheme}://{p.netloc}" for p in parts if p.scheme in ("http", "https") and p.netloc})
