"""`mcp-adapters`: run the service, and drive it (or review adapters files) from a terminal or CI."""

from __future__ import annotations

import typer

from mcp_adapters.cli import client_commands, render, serve

app = typer.Typer(no_args_is_help=True, help="Run MCP servers for your users as a platform.")


@app.callback()
def main() -> None:
    """mcp-adapters command line."""


app.command()(serve.serve)
app.command()(render.render)
app.command()(client_commands.apply)
app.command()(client_commands.get)
app.command("list")(client_commands.list_)
app.command()(client_commands.delete)
app.command()(client_commands.status)
app.command()(client_commands.refresh)
app.command()(client_commands.logs)
