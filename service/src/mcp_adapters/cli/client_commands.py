"""Client commands over the REST API: apply, get, list, delete, status, refresh, logs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from mcp_infra.adapters_file import AdaptersFileError, load_adapters

from mcp_adapters.cli._client import ApiClient, describe, fail
from mcp_adapters.cli._output import adapters_table, check_format, dump, preview_table, status_table

Server = Annotated[
    str,
    typer.Option("--server", envvar="MCP_ADAPTERS_SERVER", help="The service's address."),
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="MCP_ADAPTERS_TOKEN", help="Bearer token (Entra ID).", show_default=False),
]
User = Annotated[
    str | None, typer.Option("--user", envvar="MCP_ADAPTERS_USER", help="Development mode: act as this user id.")
]
Roles = Annotated[
    str | None, typer.Option("--roles", envvar="MCP_ADAPTERS_ROLES", help="Development mode: comma-separated roles.")
]
Output = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml.")]
Name = Annotated[str, typer.Argument(help="Adapter name.")]
DEFAULT_SERVER = "http://127.0.0.1:8000"


def _client(server: str, token: str | None, user: str | None, roles: str | None) -> ApiClient:
    return ApiClient(server, token, user, roles)


def apply(
    file: Annotated[Path, typer.Option("-f", "--file", help="Adapters file (JSON or YAML; one or many).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Preview: show plans and findings, change nothing.")
    ] = False,
    output: Output = "table",
    server: Server = DEFAULT_SERVER,
    token: Token = None,
    user: User = None,
    roles: Roles = None,
) -> None:
    """Create or update every adapter in FILE (idempotent: unchanged adapters stay as they are)."""
    check_format(output)
    try:
        specs = load_adapters(file)
    except AdaptersFileError as exc:
        fail(str(exc), code=2)
    api = _client(server, token, user, roles)
    results: list[Any] = []
    failed = 0
    for spec in specs:
        body = spec.to_json()
        existing = api.request("GET", f"/adapters/{spec.name}", ok=(200, 404))
        params = {"dryRun": "true"} if dry_run else {}
        if existing.status_code == 404:
            response = api.request("POST", "/adapters", json=body, params=params, ok=(200, 201, 400, 403, 409, 422))
            verb = "created"
        else:
            response = api.request(
                "PUT", f"/adapters/{spec.name}", json=body, params=params, ok=(200, 400, 403, 404, 409, 422)
            )
            changed = response.status_code == 200 and response.json().get("generation") != existing.json()["generation"]
            verb = "configured" if changed else "unchanged"
        if response.status_code >= 400:
            failed += 1
            typer.echo(f"{spec.name}: {describe(response)}", err=True)
            continue
        results.append(response.json())
        if output == "table":
            if dry_run:
                preview_table(response.json())
            else:
                typer.echo(f"adapter/{spec.name} {verb}")
    if output != "table":
        dump(results, output)
    if failed:
        raise typer.Exit(1)


def get(
    name: Name,
    output: Output = "table",
    server: Server = DEFAULT_SERVER,
    token: Token = None,
    user: User = None,
    roles: Roles = None,
) -> None:
    """Show one adapter."""
    check_format(output)
    adapter = _client(server, token, user, roles).request("GET", f"/adapters/{name}").json()
    if output == "table":
        adapters_table([adapter])
    else:
        dump(adapter, output)


def list_(
    output: Output = "table",
    server: Server = DEFAULT_SERVER,
    token: Token = None,
    user: User = None,
    roles: Roles = None,
) -> None:
    """List the adapters you may see."""
    check_format(output)
    adapters = _client(server, token, user, roles).request("GET", "/adapters").json()
    if output == "table":
        adapters_table(adapters)
    else:
        dump(adapters, output)


def delete(
    names: Annotated[list[str], typer.Argument(help="Adapter names.")],
    wait: Annotated[bool, typer.Option("--wait", help="Return once the adapters are gone.")] = False,
    timeout: Annotated[float, typer.Option(help="How long --wait waits, in seconds.")] = 120.0,
    server: Server = DEFAULT_SERVER,
    token: Token = None,
    user: User = None,
    roles: Roles = None,
) -> None:
    """Delete adapters (their replicas are stopped, then they are gone)."""
    api = _client(server, token, user, roles)
    for name in names:
        api.request("DELETE", f"/adapters/{name}")
        typer.echo(f"adapter/{name} deleting")
    deadline = time.monotonic() + timeout
    pending = set(names) if wait else set()
    while pending and time.monotonic() < deadline:
        pending = {n for n in pending if api.request("GET", f"/adapters/{n}", ok=(200, 404)).status_code == 200}
        if pending:
            time.sleep(0.5)
    if pending:
        fail(f"still deleting after {timeout:.0f}s: {', '.join(sorted(pending))}")


def status(
    name: Name,
    output: Output = "table",
    server: Server = DEFAULT_SERVER,
    token: Token = None,
    user: User = None,
    roles: Roles = None,
) -> None:
    """Phase, conditions, replicas and the last operation of one adapter."""
    check_format(output)
    body = _client(server, token, user, roles).request("GET", f"/adapters/{name}/status").json()
    if output == "table":
        status_table(name, body)
    else:
        dump(body, output)


def refresh(
    name: Name,
    server: Server = DEFAULT_SERVER,
    token: Token = None,
    user: User = None,
    roles: Roles = None,
) -> None:
    """Read back what is deployed for an adapter (drift) before its next apply."""
    _client(server, token, user, roles).request("POST", f"/adapters/{name}/refresh", ok=(202,))
    typer.echo(f"adapter/{name} refresh requested: see `mcp-adapters status {name}`")


def logs(
    name: Name,
    instance: Annotated[int, typer.Option("-i", "--instance", help="Replica index.")] = 0,
    tail: Annotated[int, typer.Option("--tail", help="How many of the last lines.")] = 200,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing new lines.")] = False,
    operation: Annotated[
        bool, typer.Option("--operation", help="The last operation's log (e.g. the Pulumi update) instead.")
    ] = False,
    server: Server = DEFAULT_SERVER,
    token: Token = None,
    user: User = None,
    roles: Roles = None,
) -> None:
    """Print a replica's output, or the log of the adapter's last operation."""
    api = _client(server, token, user, roles)
    params: dict[str, Any] = {"instance": instance, "tail": tail}
    if operation:
        params["source"] = "operation"
    if follow:
        api.stream_lines(f"/adapters/{name}/logs", {**params, "follow": "true"})
    else:
        typer.echo(api.request("GET", f"/adapters/{name}/logs", params=params).text, nl=False)
