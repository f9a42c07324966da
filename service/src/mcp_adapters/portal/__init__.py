"""The portal: a browser app (plain ES modules and CSS under `static/`, no build step) and what it starts from."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"


class PortalFiles(StaticFiles):
    """The portal's files, revalidated on every load (`no-cache` + ETag): after an upgrade no browser keeps
    running the old JavaScript against the new API, and an unchanged file still costs only a 304."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response
