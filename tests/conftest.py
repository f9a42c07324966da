"""Fixtures every part of the test suite shares."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

# The real tier's fixtures (Go-built tools, one Kubernetes control plane per session), for every test directory.
pytest_plugins = ["tests.realstack.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ROOT / "tests" / "servers"
EVERYTHING = SERVERS / "everything.py"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    """A port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
