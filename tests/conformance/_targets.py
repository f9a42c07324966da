"""What the suite runs against: the everything server over the SDK's streamable HTTP, the bridge, forward mode.

Both are real processes on 127.0.0.1, ready when they answer HTTP (the bridge:
when `GET /readyz` is 200), waited on with a bounded deadline.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "servers" / "everything.py"
BRIDGE = ROOT / ".venv" / "bin" / "mcp-bridge"
READY_DEADLINE = 30.0


class TargetFailed(RuntimeError):
    """The process exited, or was not ready before the deadline."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(log_path: Path, lines: int = 20) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(process: subprocess.Popen[bytes], is_ready: Callable[[], bool], log_path: Path, what: str) -> None:
    deadline = time.monotonic() + READY_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TargetFailed(f"{what} exited with code {process.returncode}:\n{_tail(log_path)}")
        try:
            if is_ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # readiness poll interval, bounded by the deadline above
    raise TargetFailed(f"{what} was not ready within {READY_DEADLINE:.0f}s:\n{_tail(log_path)}")


@contextmanager
def _running(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def direct_server(log_dir: Path) -> Iterator[str]:
    """The everything server over the SDK's own streamable HTTP; yields its MCP URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    log_path = log_dir / "direct-server.log"
    command = [sys.executable, str(SERVER), "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    with _running(command, dict(os.environ), log_path) as process:
        # Any HTTP answer on /mcp (a GET without a session is refused) means it is serving.
        _wait_ready(process, lambda: httpx.get(url, timeout=2).status_code > 0, log_path, "the everything server")
        yield url


@contextmanager
def bridge(log_dir: Path) -> Iterator[str]:
    """`mcp-bridge` fronting the everything server over stdio (`--era dual`); yields its MCP URL."""
    stdio = {"MCP_COMMAND": sys.executable, "MCP_ARGS": shlex.join([str(SERVER), "--era", "dual"])}
    with _mcp_bridge(log_dir, "bridge", stdio) as url:
        yield url


@contextmanager
def forward(log_dir: Path) -> Iterator[str]:
    """`mcp-bridge` in forward mode in front of the everything server's streamable HTTP; yields its MCP URL."""
    with direct_server(log_dir) as upstream:
        settings = {"MCP_PROXY_URL": upstream, "MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL": "true"}
        with _mcp_bridge(log_dir, "forward", settings) as url:
            yield url


@contextmanager
def _mcp_bridge(log_dir: Path, name: str, settings: dict[str, str]) -> Iterator[str]:
    if not BRIDGE.exists():
        raise TargetFailed(f"{BRIDGE} does not exist: the bridge is not installed in .venv")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env |= {**settings, "HOST": "127.0.0.1", "PORT": str(port)}
    log_path = log_dir / f"{name}.log"
    base = f"http://127.0.0.1:{port}"
    with _running([str(BRIDGE)], env, log_path) as process:
        _wait_ready(process, lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, log_path, "mcp-bridge")
        yield f"{base}/mcp"
