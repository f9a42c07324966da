"""Control-plane figures: POST latency, time to Ready (1 and N adapters), data-plane overhead.

    .venv/bin/python bench/service_bench.py [--adapters 100] [--sandbox auto|bwrap|none]

Starts a private `mcp-adapters serve` on 127.0.0.1 with a temporary state dir and prints a table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EVERYTHING = ROOT / "tests" / "servers" / "everything.py"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spec(name: str) -> dict[str, object]:
    env = {"MCP_COMMAND": sys.executable, "MCP_ARGS": f"{EVERYTHING} --era dual"}
    return {"name": name, "imageName": "mcp-proxy", "imageVersion": "1", "environmentVariables": env}


def start_service(state: Path, **settings: str) -> tuple[subprocess.Popen[bytes], int]:
    """A private `mcp-adapters serve` on a free loopback port, its state in `state`, quiet."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_ADAPTERS_")}
    env |= {"MCP_ADAPTERS_STATE_DIR": str(state), "MCP_ADAPTERS_LOG_LEVEL": "WARNING", **settings}
    service = subprocess.Popen(
        [str(BIN / "mcp-adapters"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return service, port


def until(condition: object, deadline: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < deadline:
        try:
            if condition():  # type: ignore[operator]
                return time.monotonic() - began
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.05)
    raise TimeoutError


def ready(api: httpx.Client, names: list[str]) -> bool:
    phases = {a["name"]: a["status"]["phase"] for a in api.get("/adapters").json()}
    return all(phases.get(n) == "Ready" for n in names)


def rpc_ms(client: httpx.Client, url: str, n: int = 200) -> float:
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
    response = client.post(url, json=init, headers=ACCEPT)
    session = {"Mcp-Session-Id": response.headers["mcp-session-id"], **ACCEPT}
    client.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
    times = []
    for i in range(n):
        began = time.perf_counter()
        client.post(
            url,
            json={
                "jsonrpc": "2.0",
                "id": i + 1,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"message": "x"}},
            },
            headers=session,
        )
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adapters", type=int, default=100)
    parser.add_argument(
        "--sandbox", choices=["auto", "bwrap", "none"], default="auto", help="MCP_ADAPTERS_LOCAL_SANDBOX"
    )
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="mcp-adapters-bench-"))
    service, port = start_service(
        state,
        MCP_ADAPTERS_POLL_SECONDS="0.2",
        MCP_ADAPTERS_RECONCILE_CONCURRENCY="32",
        MCP_ADAPTERS_LOCAL_SANDBOX=args.sandbox,
    )
    rows: list[tuple[str, str]] = []
    try:
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, trust_env=False)
        until(lambda: api.get("/readyz").status_code == 200 if service.poll() is None else 1 / 0, 60)
        posts = []
        for i in range(50):
            began = time.perf_counter()
            api.post("/adapters?dryRun=false", json=spec(f"lat-{i}"))
            posts.append(time.perf_counter() - began)
        rows.append(("POST /adapters accepted, median (50 sequential)", f"{statistics.median(posts) * 1000:.1f} ms"))
        rows.append(("POST /adapters accepted, p95", f"{sorted(posts)[47] * 1000:.1f} ms"))
        for i in range(50):
            api.delete(f"/adapters/lat-{i}")
        until(lambda: api.get("/adapters").json() == [], 120)

        api.post("/adapters", json=spec("one"))
        rows.append(("time to Ready, 1 adapter", f"{until(lambda: ready(api, ['one']), 120):.2f} s"))
        url_direct = (
            f"http://127.0.0.1:{__import__('json').loads((state / 'local/one/one-0.pid').read_text())['port']}/mcp"
        )
        with httpx.Client(timeout=30, trust_env=False) as client:
            direct = rpc_ms(client, url_direct)
            through = rpc_ms(client, f"http://127.0.0.1:{port}/adapters/one/mcp")
        rows.append(("tools/call echo, bridge directly (median)", f"{direct:.2f} ms"))
        rows.append(("tools/call echo, via /adapters/one/mcp (median)", f"{through:.2f} ms"))
        rows.append(("data-plane overhead", f"{through - direct:.2f} ms"))

        names = [f"bulk-{i}" for i in range(args.adapters)]
        began = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda n: api.post("/adapters", json=spec(n)), names))
        until(lambda: ready(api, names), 900)
        rows.append((f"time to Ready, {args.adapters} adapters created at once", f"{time.monotonic() - began:.1f} s"))
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(service.pid, signal.SIGKILL)
        shutil.rmtree(state, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  value")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
