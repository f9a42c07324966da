"""Fixtures for the control plane: a private PostgreSQL, in-process apps, and real service processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVERYTHING, VENV_BIN, free_port
from tests.postgres import Cluster, PostgresMissing, create_database

DEADLINE = 60.0


def wait_for(condition: Callable[[], Any], deadline: float = DEADLINE, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy, or fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    last: Any = None
    while time.monotonic() < end:
        try:
            last = condition()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline}s waiting for {what} (last: {last!r})")


def everything_spec(name: str, replicas: int = 1, **extra: Any) -> dict[str, Any]:
    """An adapter bridging the repository's test MCP server."""
    return {
        "name": name,
        "imageName": "mcp-proxy",
        "imageVersion": "1.0.0",
        "environmentVariables": {"MCP_COMMAND": sys.executable, "MCP_ARGS": f"{EVERYTHING} --era dual"},
        "replicaCount": replicas,
        **extra,
    }


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A private PostgreSQL on 127.0.0.1 (or MCP_ADAPTERS_TEST_DATABASE_URL when given)."""
    given = os.environ.get("MCP_ADAPTERS_TEST_DATABASE_URL")
    if given:
        yield given
        return
    try:
        cluster = Cluster()
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    try:
        yield cluster.url
    finally:
        cluster.destroy()


_DB_COUNTER = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None (SQLite in the state dir) or a fresh PostgreSQL database for this test."""
    if request.param == "sqlite":
        return None
    server: str = request.getfixturevalue("postgres_server")
    return create_database(server, f"t{os.getpid()}_{next(_DB_COUNTER)}")


# --- the service, in process and as a real process ---------------------------------------------


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """An in-process app (real database, real local target) behind a TestClient."""
    from mcp_adapters.api.main import create_app
    from mcp_adapters.settings import Settings

    clients: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        settings.setdefault("state_dir", tmp_path / "state")
        settings.setdefault("poll_seconds", 0.1)
        client = TestClient(create_app(Settings(**settings)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    port: int
    state_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers=headers, trust_env=False)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Start `mcp-adapters serve` on a free loopback port; stopped (SIGTERM) at teardown."""
    started: list[ServiceProcess] = []

    def start(
        state_dir: Path | None = None, database_url: str | None = None, port: int | None = None, **env: str
    ) -> ServiceProcess:
        port = port or free_port()
        state = state_dir or tmp_path / "state"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MCP_ADAPTERS_")}
        environment.pop("DATABASE_URL", None)
        environment.update({"MCP_ADAPTERS_STATE_DIR": str(state), "MCP_ADAPTERS_POLL_SECONDS": "0.2", **env})
        if database_url:
            environment["DATABASE_URL"] = database_url
        log_path = tmp_path / f"service-{port}-{len(started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(VENV_BIN / "mcp-adapters"), "serve", "--port", str(port)],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = ServiceProcess(process, port, state, log_path)
        started.append(service)

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the service exited with {process.returncode}:\n{service.log()}")
            return httpx.get(f"{service.url}/readyz", timeout=2).status_code == 200

        wait_for(ready, what="the service's /readyz")
        return service

    yield start
    for service in started:
        try:
            service.stop()
        except subprocess.TimeoutExpired:
            service.kill()


def adapter_pids(state_dir: Path) -> list[int]:
    """Live processes the local target started for this state dir: bridges and the servers they run."""
    marker = f"MCP_ADAPTERS_OWNER={(state_dir / 'local').resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environ and state != "Z":
            found.append(int(entry.name))
    return found


def bridge_pids(state_dir: Path) -> list[int]:
    """The `mcp-bridge` processes among them (not the sandbox wrapped around each, not the servers)."""
    found = []
    for pid in adapter_pids(state_dir):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv[0].endswith(b"bwrap") and any(arg.endswith(b"/mcp-bridge") for arg in argv[:2]):
            found.append(pid)
    return found
