"""The portal: a browser app (plain ES modules and CSS under `static/`, no build step) and what it starts from."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
