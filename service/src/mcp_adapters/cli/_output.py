"""How the CLI prints: rich tables for people, `-o json|yaml` for scripts."""

from __future__ import annotations

import json
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "yaml")


def check_format(output: str) -> str:
    if output not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="-o")
    return output


def dump(data: Any, output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


def _ready(adapter: dict[str, Any]) -> str:
    replicas = adapter.get("status", {}).get("replicas", {})
    return f"{replicas.get('ready', 0)}/{replicas.get('desired', 0)}"


def adapters_table(adapters: list[dict[str, Any]]) -> None:
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "PHASE", "READY", "GENERATION", "CREATED BY", "ENDPOINT"):
        table.add_column(column)
    for a in adapters:
        status = a.get("status", {})
        table.add_row(
            a["name"],
            status.get("phase", ""),
            _ready(a),
            str(a.get("generation", "")),
            a.get("createdBy", ""),
            status.get("endpoint", ""),
        )
    Console().print(table)


def status_table(name: str, status: dict[str, Any]) -> None:
    console = Console()
    replicas = status.get("replicas", {})
    console.print(
        f"[bold]{name}[/bold]  phase={status.get('phase')}  generation={status.get('generation')}  "
        f"observed={status.get('observedGeneration')}  ready={replicas.get('ready', 0)}/{replicas.get('desired', 0)}"
    )
    table = Table(box=None, header_style="bold")
    for column in ("CONDITION", "STATUS", "REASON", "MESSAGE"):
        table.add_column(column)
    for c in status.get("conditions", []):
        table.add_row(c["type"], c["status"], c["reason"], c.get("message", ""))
    console.print(table)
    if op := status.get("lastOperation"):
        console.print(
            f"last operation: {op['kind']} #{op['id']} (generation {op['generation']}) "
            f"{op['outcome']} {op.get('message', '')}"
        )
        if changes := op.get("resourceChanges"):
            console.print("  changes: " + ", ".join(f"{kind} {count}" for kind, count in sorted(changes.items())))


def preview_table(preview: dict[str, Any]) -> None:
    console = Console()
    verdict = "[green]allowed[/green]" if preview.get("allowed") else "[red]refused[/red]"
    console.print(
        f"[bold]{preview['adapter']['name']}[/bold]: {preview['change']} ({verdict}, target {preview['target']})"
    )
    symbols = {"create": "+", "update": "~", "delete": "-", "replace": "+-", "same": " "}
    for resource in preview.get("resources", []):
        symbol = symbols.get(resource.get("op") or "create", "?")
        console.print(f"  {symbol} {resource['type']} {resource['name']}")
    if summary := preview.get("changeSummary"):
        console.print("  summary: " + ", ".join(f"{kind} {count}" for kind, count in sorted(summary.items())))
    for finding in preview.get("findings", []):
        console.print(f"  [{finding['enforcement']}] {finding['policy']}: {finding['message']}")
