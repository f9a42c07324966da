"""What the server behind the bridge gets from its environment, and which spellings the bridge reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp_bridge.settings import BASELINE, BridgeSettings

from tests.conftest import EVERYTHING, VENV_BIN, free_port

# A stdio server that writes down its environment, then becomes the repository's test server.
RECORDER = """
import json, os, sys
with open(sys.argv[1] + ".tmp", "w") as f:
    json.dump(dict(os.environ), f)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
os.execv(sys.executable, [sys.executable, sys.argv[2], "--era", "dual"])
"""


def recorded_environment(start_bridge: Any, tmp_path: Path, **settings: str) -> dict[str, str]:
    script, marker = tmp_path / "recorder.py", tmp_path / "environment.json"
    script.write_text(RECORDER)
    start_bridge(MCP_ARGS=f"{script} {marker} {EVERYTHING}", **settings)  # the stateless pool starts a server
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, "the server never recorded its environment"
        time.sleep(0.05)
    found: dict[str, str] = json.loads(marker.read_text())
    return found


# What the cluster, the service or the image may put in the bridge's environment, none of it the adapter's.
AROUND = {
    "KUBERNETES_SERVICE_HOST": "10.0.0.1",
    "NODE_OPTIONS": "--require /tmp/evil.js",
    "MCP_BRIDGE_MAX_SESSIONS": "7",
    "mcp_bridge_upstream_allow_local": "true",
    "Mcp_Command": "/bin/sh",
    "LC_ALL": "C.UTF-8",
    "AZURE_CLIENT_ID": "client-123",
    "MCP_ADAPTERS_OWNER": "/state/local",
}


def test_the_server_gets_the_baseline_and_the_adapters_own_variables_only(start_bridge: Any, tmp_path: Path) -> None:
    env = recorded_environment(
        start_bridge, tmp_path, MCP_BRIDGE_SERVER_ENV="ADAPTER_SETTING,NOT_GIVEN", ADAPTER_SETTING="on", **AROUND
    )
    unexpected = {k for k in env if k not in BASELINE and not k.startswith("LC_")} - {"ADAPTER_SETTING"}
    assert not unexpected
    assert env["ADAPTER_SETTING"] == "on"
    assert env["AZURE_CLIENT_ID"] == "client-123"
    assert env["MCP_ADAPTERS_OWNER"] == "/state/local"  # the local target finds a replica's processes by it
    assert "NODE_OPTIONS" not in env
    assert "KUBERNETES_SERVICE_HOST" not in env


def test_without_a_list_the_server_gets_everything_but_the_bridge_settings_in_any_spelling(
    start_bridge: Any, tmp_path: Path
) -> None:
    env = recorded_environment(start_bridge, tmp_path, **AROUND)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.0.0.1"  # a person running the bridge by hand keeps today's behaviour
    assert not [k for k in env if k.upper().startswith("MCP_BRIDGE_") or k.upper() in ("MCP_COMMAND", "MCP_ARGS")]


@pytest.mark.parametrize(
    "name", ["command", "COMMAND", "mcp_command", "Mcp_Command", "MCP_BRIDGE_COMMAND", "MCP_BRIDGE_command"]
)
def test_a_setting_is_read_from_its_documented_spelling_only(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith(("MCP_", "PORT", "HOST")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MCP_PROXY_URL", "https://mcp.example.com/mcp")
    monkeypatch.setenv(name, "/bin/sh")
    monkeypatch.setenv("mcp_bridge_max_sessions", "1")
    settings = BridgeSettings()
    assert (settings.command, settings.mode, settings.max_sessions) == (None, "forward", 100)


def test_a_lower_case_spelling_does_not_switch_off_the_egress_guard() -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MCP_")}
    env |= {
        "MCP_PROXY_URL": f"http://127.0.0.1:{free_port()}/mcp",
        "mcp_bridge_upstream_allow_local": "true",
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
    }
    done = subprocess.run([str(VENV_BIN / "mcp-bridge")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "refusing MCP_PROXY_URL" in done.stderr


def test_the_documented_spellings_still_work() -> None:
    env = {"MCP_COMMAND": sys.executable, "MCP_BRIDGE_MAX_SESSIONS": "7", "MCP_BRIDGE_SERVER_ENV": "A,B"}
    code = (
        "from mcp_bridge.settings import BridgeSettings as S; s = S(); print(s.command, s.max_sessions, s.server_env)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == [sys.executable, "7", "A,B"]
