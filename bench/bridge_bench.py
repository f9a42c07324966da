"""Benchmark: `tools/call` latency and throughput through mcp-bridge and its peers, same stdio server behind.

    .venv/bin/python -m bench.bridge_bench [--quick] [--profile] [--only NAME ...]

Targets (all on 127.0.0.1): the server over stdio directly; mcp-bridge with
handshake-era clients (one server process per session) and with 2026-07-28
clients (the shared pool); mcp-proxy (sparfenyuk, PyPI); supergateway
(npm) stateful and stateless; and forward mode: the everything server's own
streamable HTTP, directly and through mcp-bridge. Each with 1 and 32
concurrent clients (the mcp SDK client), fixed call counts and a time cap.
Then the "wire" rows: the same call from a minimal raw client (bench/_wire.py)
on the stdio server directly, through mcp-bridge and through the stateful
peers, which shows what each proxy itself adds and carries once the SDK
client's own cost is out of the way (supergateway stateless, a process per
request, is left out there).
Peers are installed into bench/.peers/. Results: a table on stdout, JSON and a
plot in bench/results/; `--profile` adds a py-spy profile of the bridge under load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from bench._load import Phase, run_phase
from bench._profile import profile_bridge
from bench._report import plot, print_table, ratios
from bench._targets import (
    ROOT,
    SERVERS,
    Target,
    install_peers,
    start_bridge,
    start_everything_http,
    start_mcp_proxy,
    start_supergateway,
    use_server,
)
from bench._wire import wire_phase

RESULTS = ROOT / "bench" / "results"
CONCURRENCY = (1, 32)
# The raw client is cheap: more calls in the same time give steadier percentiles.
WIRE_FACTOR = 3


def targets(logs: Path, only: set[str]) -> list[tuple[str, Any]]:
    """(name, starter) in run order; a starter returns the targets sharing one process."""

    def bridge() -> list[Target]:
        first = start_bridge(logs, name="mcp-bridge (handshake era)", mode="legacy")
        modern = Target("mcp-bridge (2026-07-28, pooled)", first.url, "2026-07-28")
        return [first, modern]

    def forward() -> list[Target]:
        upstream = start_everything_http(logs)
        assert upstream.url is not None
        through = start_bridge(logs, name="mcp-bridge forward", mode="legacy", upstream=upstream.url)
        return [upstream, through]

    table = [
        ("direct", lambda: [Target("direct stdio", None, "legacy")]),
        ("bridge", bridge),
        ("mcp-proxy", lambda: [start_mcp_proxy(logs)]),
        ("supergateway-stateful", lambda: [start_supergateway(logs, stateful=True)]),
        ("supergateway-stateless", lambda: [start_supergateway(logs, stateful=False)]),
        ("forward", forward),
        (
            "wire",
            lambda: [
                Target("direct stdio", None, "legacy"),
                *bridge(),
                start_mcp_proxy(logs),
                start_supergateway(logs, stateful=True),
            ],
        ),
    ]
    return [(name, start) for name, start in table if not only or name in only]


async def measure(group: list[Target], calls: dict[int, int], cap: float, *, wire: bool = False) -> list[Phase]:
    phases = []
    for target in group:
        for clients in CONCURRENCY:
            if wire:
                name = f"wire: {target.name}"
                phase = await wire_phase(name, target.url, target.mode, clients, calls[clients] * WIRE_FACTOR, cap)
            else:
                phase = await run_phase(target, clients, calls[clients], cap)
            rate, p50 = phase.throughput, phase.percentile(50)
            print(f"  {phase.target:38} x{clients:<3} {rate:8.1f} req/s  p50 {p50:8.2f} ms")
            phases.append(phase)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    parser.add_argument("--profile", action="store_true", help="py-spy profile of the bridge at 32 clients")
    parser.add_argument("--only", nargs="*", default=[], help="target groups to run")
    parser.add_argument("--cap", type=float, default=30.0, help="seconds per phase at most")
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default="everything",
        help="the stdio server behind every target: the SDK-built test server, or a stdlib one that costs next to "
        "nothing per call (then the proxies are the bottleneck)",
    )
    args = parser.parse_args()
    use_server(args.server)
    calls = {1: 60, 32: 8} if args.quick else {1: 400, 32: 60}
    versions = install_peers()
    load_before = os.getloadavg()
    logs = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    phases: list[Phase] = []
    profile: dict[str, Any] | None = None
    started = time.time()
    for name, start in targets(logs, set(args.only)):
        print(f"{name}:")
        group = start()
        try:
            phases += anyio.run(partial(measure, wire=name == "wire"), group, calls, args.cap)
            if args.profile and name == "bridge":
                profile = profile_bridge(group, RESULTS, calls[32], args.cap)
        finally:
            for target in group:
                target.stop()
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "server": args.server,
        "peers": versions,
        "calls_per_client": calls,
        "cap_seconds": args.cap,
        "duration_seconds": round(time.time() - started, 1),
        "phases": [p.summary() for p in phases],
        "ratios": ratios(phases),
        "profile": profile,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stamp = f"{stamp}-{args.server}" if args.server != "everything" else stamp
    (RESULTS / f"bridge-{stamp}.json").write_text(json.dumps(report, indent=2))
    print_table(phases, report["ratios"])
    print(f"\nload average before/after: {report['machine']['loadavg_before']} / {report['machine']['loadavg_after']}")
    image = plot(phases, RESULTS / f"bridge-{stamp}.png")
    print(f"results: {RESULTS / f'bridge-{stamp}.json'}, {image}; server logs in {logs}")


if __name__ == "__main__":
    main()
