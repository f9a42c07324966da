"""The benchmark's table, ratios and plot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._load import Phase

PEERS = ("mcp-proxy", "supergateway (stateful)", "supergateway (stateless)")
DIRECT = "direct stdio"
BRIDGE_ROWS = ("mcp-bridge (handshake era)", "mcp-bridge (2026-07-28, pooled)")
WIRE_DIRECT = "wire: direct stdio"
WIRE_ROWS = tuple(f"wire: {row}" for row in BRIDGE_ROWS)
WIRE_PEERS = tuple(f"wire: {peer}" for peer in PEERS)


def _get(phases: list[Phase], target: str, clients: int) -> Phase | None:
    return next((p for p in phases if p.target == target and p.clients == clients), None)


def ratios(phases: list[Phase]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    direct1 = _get(phases, DIRECT, 1)
    peers32 = [p for p in (_get(phases, name, 32) for name in PEERS) if p is not None and p.calls]
    best = max(peers32, key=lambda p: p.throughput, default=None)
    if best is not None:
        out["best_peer_at_32"] = best.target
    for row in BRIDGE_ROWS:
        one, many = _get(phases, row, 1), _get(phases, row, 32)
        entry: dict[str, Any] = {}
        if one is not None and direct1 is not None:
            entry["added_p50_ms_vs_direct"] = round(one.percentile(50) - direct1.percentile(50), 3)
        if many is not None and best is not None and best.throughput:
            entry["throughput_x_best_peer_at_32"] = round(many.throughput / best.throughput, 2)
        direct32 = _get(phases, DIRECT, 32)
        if many is not None and direct32 is not None and direct32.throughput:
            entry["throughput_x_direct_at_32"] = round(many.throughput / direct32.throughput, 2)
        out[row] = entry
    wire1 = _get(phases, WIRE_DIRECT, 1)
    wire_peers32 = [p for p in (_get(phases, name, 32) for name in WIRE_PEERS) if p is not None and p.calls]
    wire_best = max(wire_peers32, key=lambda p: p.throughput, default=None)
    if wire_best is not None:
        out["wire_best_peer_at_32"] = wire_best.target
    for row in (*WIRE_ROWS, *WIRE_PEERS):
        one, many = _get(phases, row, 1), _get(phases, row, 32)
        entry = {}
        if one is not None and wire1 is not None:
            entry["added_p50_ms_vs_wire_direct"] = round(one.percentile(50) - wire1.percentile(50), 3)
        if row in WIRE_ROWS and many is not None and wire_best is not None and wire_best.throughput:
            entry["throughput_x_best_peer_at_32"] = round(many.throughput / wire_best.throughput, 2)
        if entry:
            out[row] = entry
    up1, fw1 = _get(phases, "streamable HTTP server, direct", 1), _get(phases, "mcp-bridge forward", 1)
    up32, fw32 = _get(phases, "streamable HTTP server, direct", 32), _get(phases, "mcp-bridge forward", 32)
    if up1 and fw1:
        out["forward_added_p50_ms"] = round(fw1.percentile(50) - up1.percentile(50), 3)
    if up32 and fw32 and up32.throughput:
        out["forward_throughput_x_direct_at_32"] = round(fw32.throughput / up32.throughput, 2)
    return out


def print_table(phases: list[Phase], summary: dict[str, Any]) -> None:
    direct = {c: _get(phases, DIRECT, c) for c in (1, 32)}
    wire = {c: _get(phases, WIRE_DIRECT, c) for c in (1, 32)}
    header = f"{'target':38} {'clients':>7} {'calls':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x direct':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for p in phases:
        base = (wire if p.target.startswith("wire:") else direct).get(p.clients)
        versus = f"{p.throughput / base.throughput:9.2f}" if base and base.throughput else f"{'':9}"
        print(
            f"{p.target:38} {p.clients:>7} {p.calls:>6} {p.throughput:>9.1f} "
            f"{p.percentile(50):>8.2f} {p.percentile(99):>8.2f} {versus}"
            + (f"  ({p.errors} errors)" if p.errors else "")
        )
    print()
    for key, value in summary.items():
        print(f"{key}: {value}")


def plot(phases: list[Phase], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(p.target for p in phases))
    fig, axes = plt.subplots(1, 3, figsize=(18, 6))
    panels: list[tuple[str, int, Callable[[Phase], float]]] = [
        ("throughput, 32 clients (req/s)", 32, lambda p: p.throughput),
        ("p50 latency, 1 client (ms)", 1, lambda p: p.percentile(50)),
        ("p99 latency, 32 clients (ms)", 32, lambda p: p.percentile(99)),
    ]
    for axis, (title, clients, value) in zip(axes, panels, strict=True):
        values = [value(p) if (p := _get(phases, n, clients)) else 0.0 for n in names]
        axis.barh(names, values, color=["#1f77b4" if "bridge" in n else "#999999" for n in names])
        axis.set_title(title)
        axis.invert_yaxis()
        if "latency" in title:
            axis.set_xscale("log")
    fig.suptitle("tools/call through stdio bridges on loopback (mcp SDK client; wire rows: a raw client)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
