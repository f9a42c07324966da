"""`/docs`: Swagger UI from the service itself (the pinned `swagger-ui-py` package's assets), never from a CDN.

FastAPI's own page loads its script and styles from a public CDN and starts Swagger UI with an inline script,
so it is blank wherever that CDN cannot be reached and breaks under a Content-Security-Policy without inline
scripts. This page references only `/docs/assets/*` and `/docs/init.js`.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

ASSETS = Path(swagger_ui.__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcp-adapters API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""


@router.get("/docs")
async def docs() -> HTMLResponse:
    return HTMLResponse(_PAGE)


@router.get("/docs/init.js")
async def docs_init() -> Response:
    return Response(_INIT, media_type="text/javascript")


def assets() -> StaticFiles:
    return StaticFiles(directory=ASSETS)
