"""The CLI process as the service drives it: what a killed CLI leaves behind, the Azure identity it is given."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp_adapters.targets import _procs
from mcp_adapters.targets.kubernetes._cli import signal_cli_processes

from tests.service.targets.kubernetes.conftest import Harness, Log, spec

# A stand-in for `pulumi up --stack github` (argv[0] is `pulumi`) that starts a provider plugin and writes its pid.
_CLI = """
import subprocess, sys, time
plugin = subprocess.Popen(["sleep", "300"])
open(sys.argv[-1], "w").write(str(plugin.pid))
time.sleep(300)
"""


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def running_cli(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    pid_file = tmp_path / "plugin.pid"
    argv = ["pulumi", "-c", _CLI, "up", "--stack", "github", str(pid_file)]
    cli = subprocess.Popen(argv, executable=sys.executable)
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text())
    plugin = int(pid_file.read_text())
    yield cli, plugin
    for pid in (cli.pid, plugin):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    cli.wait(timeout=10)


def test_a_killed_cli_leaves_none_of_its_plugins_running(running_cli: tuple[subprocess.Popen[bytes], int]) -> None:
    cli, plugin = running_cli
    assert signal_cli_processes("other-stack", signal.SIGKILL) == 0
    assert signal_cli_processes("github", signal.SIGKILL) == 1
    assert cli.wait(timeout=10) == -signal.SIGKILL
    assert wait_until(lambda: not _procs.alive(plugin)), "the plugin runs on, orphaned"


def test_an_interrupted_cli_stops_its_plugins_itself(running_cli: tuple[subprocess.Popen[bytes], int]) -> None:
    cli, plugin = running_cli
    assert signal_cli_processes("github", signal.SIGINT) == 1
    cli.wait(timeout=10)
    assert _procs.alive(plugin), "SIGINT is the engine's to pass on: it lets providers finish and save state"


@pytest.mark.anyio
async def test_the_workload_identity_token_reaches_the_provider_as_a_file_never_by_value(
    make_harness: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("eyJhbGciOiJSUzI1NiJ9.service-account-token.signature")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("AZURE_TENANT_ID", "66666666-7777-8888-9999-000000000000")
    monkeypatch.delenv("ARM_CLIENT_ID", raising=False)
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    token_file.write_text("eyJhbGciOiJSUzI1NiJ9.rotated-token.signature")  # the kubelet rotates it
    await harness.target.apply(spec("github", replicas=2), Log())

    for up in (c for c in harness.cli.calls if c.command == "up"):
        assert not any("service-account-token" in value for value in up.env.values())
        assert "ARM_OIDC_TOKEN" not in up.env
        # azidentity's workload identity credential re-reads the file as the provider runs.
        assert up.env["ARM_USE_DEFAULT_AZURE_CREDENTIAL"] == "true"
        assert up.env["AZURE_FEDERATED_TOKEN_FILE"] == up.env["ARM_OIDC_TOKEN_FILE_PATH"] == str(token_file)
        assert up.env["ARM_CLIENT_ID"] == "11111111-2222-3333-4444-555555555555"


@pytest.mark.anyio
async def test_credentials_the_operator_configured_are_left_alone(
    make_harness: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("ARM_CLIENT_ID", "operator-app")
    harness: Harness = await make_harness()
    await harness.target.apply(spec("github"), Log())
    up = next(c for c in harness.cli.calls if c.command == "up")
    assert "ARM_USE_DEFAULT_AZURE_CREDENTIAL" not in up.env
    assert up.env["ARM_CLIENT_ID"] == "operator-app"
