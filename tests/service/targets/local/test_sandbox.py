"""An adapter's process cannot read the service's state, key or environment, and starts in a directory of its own."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp_adapters.errors import ConfigurationError
from mcp_adapters.targets.local._sandbox import choose

from tests.conftest import EVERYTHING
from tests.service.conftest import everything_spec, wait_for

# Runs as the adapter's MCP_COMMAND: tries to read what it must not, records what happened, then serves MCP.
PROBE = """
import json, os, sys
targets, marker, server = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
found = {}
for label, path in targets.items():
    try:
        with open(path, "rb") as f:
            f.read(1)
        found[label] = "read"
    except OSError as exc:
        found[label] = type(exc).__name__
try:
    with open(marker, "w") as f:
        f.write("escaped")
    found["write outside"] = "wrote"
except OSError as exc:
    found["write outside"] = type(exc).__name__
found.update(cwd=os.getcwd(), home=os.environ.get("HOME"), canary=os.environ.get("SERVICE_CANARY"))
with open("probe.json", "w") as f:
    json.dump(found, f)
os.execv(sys.executable, [sys.executable, server, "--era", "dual"])
"""


def _need_bwrap() -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("bubblewrap is not installed: dev.py test installs it (apt-get install bubblewrap)")
        pytest.skip("bubblewrap is not installed")


def test_a_replica_cannot_read_the_state_directory_key_or_service(start_service: Any, tmp_path: Path) -> None:
    _need_bwrap()
    service = start_service(SERVICE_CANARY="the-service-environment")
    state = service.state_dir.resolve()
    assert (state / "secret.key").is_file()
    assert (state / "state.db").is_file()
    probe, marker = tmp_path / "probe.py", tmp_path / "escaped"
    probe.write_text(PROBE)
    targets = {
        "secret key": str(state / "secret.key"),
        "database": str(state / "state.db"),
        "service environment": f"/proc/{service.process.pid}/environ",
        "key through the service's root": f"/proc/{service.process.pid}/root{state / 'secret.key'}",
    }
    spec = everything_spec("prober")
    spec["environmentVariables"] = {
        "MCP_COMMAND": sys.executable,
        "MCP_ARGS": shlex.join([str(probe), json.dumps(targets), str(marker), str(EVERYTHING)]),
    }
    with service.api() as api:
        assert api.post("/adapters", json=spec).status_code == 201
        wait_for(lambda: api.get("/adapters/prober").json()["status"]["phase"] == "Ready", what="prober Ready")
    work = state / "local" / "prober" / "work" / "prober-0"
    found = json.loads((work / "probe.json").read_text())
    assert {label: found[label] for label in targets} == dict.fromkeys(targets, "FileNotFoundError"), found
    assert found["write outside"] in ("OSError", "PermissionError"), found  # the machine is read-only to it
    assert not marker.exists()
    assert (found["cwd"], found["home"], found["canary"]) == (str(work), str(work), None)


def test_without_a_sandbox_only_development_mode_runs_adapters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    with pytest.raises(ConfigurationError, match="install bubblewrap"):
        choose("auto", hidden=(tmp_path,), development=False)
    with pytest.raises(ConfigurationError, match="bwrap is not installed"):
        choose("bwrap", hidden=(tmp_path,), development=True)
    assert choose("auto", hidden=(tmp_path,), development=True).mode == "none"
    assert "could read this service's state directory" in caplog.text
    assert choose("none", hidden=(tmp_path,), development=False).mode == "none"
