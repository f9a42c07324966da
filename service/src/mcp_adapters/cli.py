"""Placeholder so the workspace resolves; the CLI arrives with the service."""

import typer

app = typer.Typer()
