"""`mcp-adapters render`: every object the adapters in a file would deploy, for review (no service needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from mcp_infra.adapters_file import AdaptersFileError, load_adapters
from mcp_infra.render import render_documents
from mcp_infra.settings import PlatformSettings
from pydantic import ValidationError


def render(
    file: Annotated[Path, typer.Option("-f", "--file", help="Adapters file (JSON or YAML; one or many adapters).")],
    output: Annotated[str, typer.Option("-o", "--output", help="yaml or json")] = "yaml",
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="Platform settings (JSON, camelCase); defaults otherwise.")
    ] = None,
) -> None:
    """Print every object that would be deployed for the adapters in FILE, for review."""
    if output not in ("yaml", "json"):
        raise typer.BadParameter("use yaml or json", param_hint="-o")
    try:
        specs = load_adapters(file)
        settings = (
            PlatformSettings.model_validate(json.loads(settings_file.read_text()))
            if settings_file
            else PlatformSettings()
        )
    except (AdaptersFileError, ValidationError, OSError, ValueError) as exc:
        typer.echo(f"mcp-adapters: {exc}", err=True)
        raise typer.Exit(2) from None
    fmt: Literal["yaml", "json"] = "json" if output == "json" else "yaml"
    typer.echo(render_documents(specs, settings, fmt), nl=False)
