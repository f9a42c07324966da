"""Control-plane figures under a burst: POST latency, time to Ready, and the data plane meanwhile.

    .venv/bin/python -m bench.service_bench [--adapters 100] [--databases sqlite,postgres] [--sandbox auto]

For each database, in one run: starts a private `mcp-adapters serve` on 127.0.0.1 (local target, the
repository's test server bridged, a temporary state dir; PostgreSQL from Debian's binaries on loopback),
creates one adapter that 8 MCP clients keep calling (`tools/call add`, 20 a second each, through
`/adapters/flow/mcp`), then fires `--adapters` creates at once and times each POST until it is accepted,
the whole burst until every adapter is Ready, and the flowing calls before and during the burst.
Prints one table, the databases side by side against issue 14's goals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVERS = {  # what the adapters bridge: the SDK-built test server, or one that costs next to nothing to start
    "everything": f"{ROOT / 'tests' / 'servers' / 'everything.py'} --era dual",
    "minimal": str(ROOT / "bench" / "minimal_server.py"),
}
SERVER = "everything"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
FLOW_CLIENTS = 8
RATE = 20.0  # calls a second from each flowing client (--rate)
QUIET_SECONDS = 3.0
READY_DEADLINE = 600.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spec(name: str) -> dict[str, object]:
    env = {"MCP_COMMAND": sys.executable, "MCP_ARGS": SERVERS[SERVER]}
    return {"name": name, "imageName": "mcp-proxy", "imageVersion": "1", "environmentVariables": env}


def start_service(state: Path, **settings: str) -> tuple[subprocess.Popen[bytes], int]:
    """A private `mcp-adapters serve` on a free loopback port, its state in `state`, quiet."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_ADAPTERS_") and k != "DATABASE_URL"}
    env |= {"MCP_ADAPTERS_STATE_DIR": str(state), "MCP_ADAPTERS_LOG_LEVEL": "WARNING", **settings}
    service = subprocess.Popen(
        [str(BIN / "mcp-adapters"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return service, port


def stop_service(service: subprocess.Popen[bytes]) -> None:
    service.send_signal(signal.SIGTERM)
    try:
        service.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(service.pid, signal.SIGKILL)


def until(condition: Callable[[], object], deadline: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < deadline:
        try:
            if condition():
                return time.monotonic() - began
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.05)
    raise TimeoutError


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


@dataclass
class Figures:
    posts_ms: list[float] = field(default_factory=list)
    post_errors: int = 0
    ready_s: float = float("nan")
    one_ready_s: float = float("nan")
    direct_ms: float = float("nan")
    through_ms: float = float("nan")
    flow_quiet_ms: list[float] = field(default_factory=list)
    flow_burst_ms: list[float] = field(default_factory=list)
    flow_errors: int = 0
    ready_over_time: list[tuple[float, int]] = field(default_factory=list)  # (s since the burst, adapters Ready)
    flow_over_time: list[tuple[float, float]] = field(default_factory=list)  # (s since the burst, call ms)


def rpc(i: int) -> dict[str, Any]:
    params = {"name": "add", "arguments": {"a": 2, "b": 3}}
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params}


async def open_session(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }
    response = await client.post(url, json=init, headers=ACCEPT)
    response.raise_for_status()
    headers = {"Mcp-Session-Id": response.headers["mcp-session-id"], **ACCEPT}
    await client.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


async def call_ms(client: httpx.AsyncClient, url: str, n: int) -> float:
    headers = await open_session(client, url)
    times = []
    for i in range(n):
        began = time.perf_counter()
        (await client.post(url, json=rpc(i + 1), headers=headers)).raise_for_status()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


async def flow(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], stop: asyncio.Event, out: list[tuple[float, float]]
) -> int:
    """Call at RATE calls a second (back to back when 0) until `stop`; (start time, ms) of each call; the number of
    failed calls. Calls are scheduled, not spaced: a late one is not made up for by waiting less after it."""
    errors, i = 0, 0
    start = time.perf_counter() + random.uniform(0, 1 / RATE if RATE else 0)  # clients out of step, as real ones are
    while not stop.is_set():
        i += 1
        if RATE:
            await asyncio.sleep(max(0.0, start + i / RATE - time.perf_counter()))
        began = time.perf_counter()
        try:
            response = await client.post(url, json=rpc(i), headers=headers)
            ok = response.status_code == 200 and b'"error"' not in response.content
        except httpx.HTTPError:
            ok = False
        if ok:
            out.append((began, (time.perf_counter() - began) * 1000))
        else:
            errors += 1
    return errors


async def measure(base: str, state: Path, adapters: int) -> Figures:
    figures = Figures()
    limits = httpx.Limits(max_connections=adapters + FLOW_CLIENTS + 8)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits, trust_env=False) as api:
        began = time.monotonic()
        (await api.post("/adapters", json=spec("flow"))).raise_for_status()
        while (await api.get("/adapters/flow")).json()["status"]["phase"] != "Ready":
            await asyncio.sleep(0.05)
        figures.one_ready_s = time.monotonic() - began
        port = json.loads((state / "local/flow/flow-0.pid").read_text())["port"]
        figures.direct_ms = await call_ms(api, f"http://127.0.0.1:{port}/mcp", 200)
        figures.through_ms = await call_ms(api, "/adapters/flow/mcp", 200)

        calls: list[tuple[float, float]] = []
        stop = asyncio.Event()
        url = "/adapters/flow/mcp"
        sessions = await asyncio.gather(*(open_session(api, url) for _ in range(FLOW_CLIENTS)))
        flows = [asyncio.create_task(flow(api, url, headers, stop, calls)) for headers in sessions]
        await asyncio.sleep(QUIET_SECONDS)  # the data plane alone, for comparison
        burst_began = time.perf_counter()

        async def create(name: str) -> None:
            began = time.perf_counter()
            response = await api.post("/adapters", json=spec(name))
            if response.status_code == 201:
                figures.posts_ms.append((time.perf_counter() - began) * 1000)
            else:
                figures.post_errors += 1

        names = [f"bulk-{i:03d}" for i in range(adapters)]
        await asyncio.gather(*(create(name) for name in names))
        while time.perf_counter() - burst_began < READY_DEADLINE:
            listed = (await api.get("/adapters", params={"phase": "Ready"})).json()
            count = sum(1 for a in listed if a["name"].startswith("bulk-"))
            figures.ready_over_time.append((time.perf_counter() - burst_began, count))
            if count == adapters:
                break
            await asyncio.sleep(0.25)
        burst_ended = time.perf_counter()
        figures.ready_s = burst_ended - burst_began
        stop.set()
        figures.flow_errors = sum(await asyncio.gather(*flows))
        figures.flow_quiet_ms = [ms for at, ms in calls if at < burst_began]
        figures.flow_burst_ms = [ms for at, ms in calls if burst_began <= at <= burst_ended]
        figures.flow_over_time = [(at - burst_began, ms) for at, ms in calls]
    return figures


def run(database: str, adapters: int, sandbox: str, settings: dict[str, str]) -> Figures:
    state = Path(tempfile.mkdtemp(prefix="mcp-adapters-bench-"))
    cluster = None
    extra = dict(settings, MCP_ADAPTERS_LOCAL_SANDBOX=sandbox)
    if database == "postgres":
        sys.path.insert(0, str(ROOT))
        from tests.postgres import Cluster

        cluster = Cluster()
        extra["DATABASE_URL"] = cluster.create_database("bench")
    service, port = start_service(state, **extra)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, trust_env=False) as api:
            until(lambda: api.get("/readyz").status_code == 200 if service.poll() is None else 1 / 0, 60)
        return asyncio.run(measure(base, state, adapters))
    finally:
        stop_service(service)
        shutil.rmtree(state, ignore_errors=True)
        if cluster is not None:
            cluster.destroy()


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.1f} ms"


def p50_p99(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f} ms"


def table(results: dict[str, Figures], adapters: int) -> list[tuple[str, list[str], str]]:
    def each(fmt: Callable[[Figures], str]) -> list[str]:
        return [fmt(f) for f in results.values()]

    flow = f"{FLOW_CLIENTS} clients' tools/call p50 / p99"
    return [
        ("time to Ready, 1 adapter", each(lambda f: f"{f.one_ready_s:.2f} s"), ""),
        ("tools/call add, bridge directly (median)", each(lambda f: f"{f.direct_ms:.2f} ms"), ""),
        ("tools/call add, via /adapters/flow/mcp (median)", each(lambda f: f"{f.through_ms:.2f} ms"), ""),
        (f"POST /adapters accepted, p50 ({adapters} at once)", each(lambda f: ms(f.posts_ms, 50)), "5 ms"),
        (f"POST /adapters accepted, p95 ({adapters} at once)", each(lambda f: ms(f.posts_ms, 95)), "50 ms"),
        ("POST /adapters refused or failed", each(lambda f: str(f.post_errors)), "0"),
        (f"time to Ready, {adapters} adapters created at once", each(lambda f: f"{f.ready_s:.1f} s"), "30 s"),
        (f"{flow}, before the burst ({RATE:g}/s each)", each(lambda f: p50_p99(f.flow_quiet_ms)), ""),
        (f"{flow}, during the burst ({RATE:g}/s each)", each(lambda f: p50_p99(f.flow_burst_ms)), "p99 50 ms"),
        ("calls during the burst (failed)", each(lambda f: f"{len(f.flow_burst_ms)} ({f.flow_errors})"), "0 failed"),
    ]


def plot(results: dict[str, Figures], adapters: int, path: Path) -> None:
    """For each database: the flowing calls' latency and the adapters Ready, over the burst."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 1, figsize=(9, 3.6 * len(results)), squeeze=False)
    for (database, figures), (ax,) in zip(results.items(), axes, strict=True):
        ax.scatter(*zip(*figures.flow_over_time, strict=True), s=2, alpha=0.4, label="tools/call through the service")
        ax.set_yscale("log")
        ax.set_ylabel("call latency (ms)")
        ax.axhline(50, color="grey", linestyle=":", linewidth=1)
        ax.set_title(f"{database}: {adapters} adapters created at t=0, {FLOW_CLIENTS} clients calling meanwhile")
        ready = ax.twinx()
        ready.plot(*zip(*figures.ready_over_time, strict=True), color="tab:green", label="adapters Ready")
        ready.set_ylabel("adapters Ready")
        ready.axvline(30, color="tab:green", linestyle=":", linewidth=1)
        ax.set_xlabel("seconds since the burst")
        ax.legend(loc="upper left", fontsize=8)
        ready.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapters", type=int, default=100)
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument(
        "--sandbox", choices=["auto", "bwrap", "none"], default="auto", help="MCP_ADAPTERS_LOCAL_SANDBOX"
    )
    parser.add_argument("--server", choices=sorted(SERVERS), default="everything", help="what each adapter bridges")
    parser.add_argument("--rate", type=float, default=20.0, help="calls a second per flowing client; 0: back to back")
    parser.add_argument("--plot", type=Path, help="where to save the plot (PNG); none when not given")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a service setting")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    global SERVER, RATE
    SERVER, RATE = args.server, args.rate
    results = {db: run(db, args.adapters, args.sandbox, settings) for db in args.databases.split(",")}
    rows = table(results, args.adapters)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  " + "  ".join(f"{db:>18}" for db in results) + "  goal")
    for label, values, goal in rows:
        print(f"{label.ljust(width)}  " + "  ".join(f"{v:>18}" for v in values) + f"  {goal}")
    if args.plot:
        plot(results, args.adapters, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
