"""Run real `mcp-bridge` processes on loopback in front of the real test server."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EVERYTHING, VENV_BIN, free_port

READY_DEADLINE = 30.0


@dataclass
class RunningBridge:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, deadline: float = READY_DEADLINE, *, expect: int = 200) -> httpx.Response:
        """Poll /readyz until it answers `expect` (a condition with a deadline, not a sleep)."""
        end = time.monotonic() + deadline
        last: Any = None
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise AssertionError(f"mcp-bridge exited with {self.process.returncode}:\n{self.log()}")
            try:
                last = httpx.get(f"{self.base}/readyz", timeout=2)
                if last.status_code == expect:
                    return last
            except httpx.TransportError as exc:
                last = exc
            time.sleep(0.05)
        raise AssertionError(f"/readyz never answered {expect} (last: {last!r}):\n{self.log()}")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def server_args(era: str = "dual", *extra: str) -> str:
    return shlex.join([str(EVERYTHING), "--era", era, *extra])


@pytest.fixture
def start_bridge(tmp_path: Path) -> Iterator[Any]:
    """Start `mcp-bridge` with the given environment; every bridge is stopped (SIGTERM) at teardown."""
    started: list[RunningBridge] = []

    def start(
        era: str = "dual", *server_extra: str, wait: bool = True, port: int | None = None, **settings: str
    ) -> RunningBridge:
        port = port or free_port()
        env = {
            **os.environ,
            "MCP_COMMAND": sys.executable,
            "MCP_ARGS": server_args(era, *server_extra),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "MCP_BRIDGE_LOG_FORMAT": "json",
            "MCP_BRIDGE_DRAIN_GRACE": "10",
            **settings,
        }
        log_path = tmp_path / f"bridge-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(VENV_BIN / "mcp-bridge")], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        bridge = RunningBridge(process, port, log_path, env)
        started.append(bridge)
        if wait:
            bridge.wait_ready()
        return bridge

    yield start
    for bridge in started:
        try:
            bridge.stop()
        except subprocess.TimeoutExpired:
            os.killpg(bridge.process.pid, signal.SIGKILL)
            bridge.process.wait()


@pytest.fixture
def two_replicas(start_bridge: Any) -> tuple[RunningBridge, RunningBridge]:
    """Bridges `replica-a` and `replica-b`, each knowing where the other is (sessions name their owner)."""
    port_a, port_b = free_port(), free_port()
    a = start_bridge(
        "dual", port=port_a, MCP_BRIDGE_REPLICA_ID="replica-a", MCP_BRIDGE_PEERS=f"replica-b=http://127.0.0.1:{port_b}"
    )
    b = start_bridge(
        "dual", port=port_b, MCP_BRIDGE_REPLICA_ID="replica-b", MCP_BRIDGE_PEERS=f"replica-a=http://127.0.0.1:{port_a}"
    )
    return a, b


def children_of(pid: int) -> list[int]:
    """Every live process whose parent chain leads to `pid` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def process_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
