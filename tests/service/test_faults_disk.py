"""The state directory's disk full, and the state directory read-only.

The state directory is a small tmpfs mounted for the test (so only root can run it; under CI=true not being able
to is a failure, elsewhere a skip). Disk full: writes get 503 with a detail that says so and Retry-After, reads go
on, nothing half-written is left (the same create succeeds once space returns, and SQLite's integrity check
passes). Read-only: the service refuses to start with a message that names the directory, and starts normally
once it is writable again, with every adapter as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VENV_BIN, free_port
from tests.service.conftest import wait_for
from tests.service.test_faults_crash import light_spec
from tests.service.test_faults_database import ready

SIZE = "24m"


@contextlib.contextmanager
def small_disk(path: Path) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    if not mounted:
        if os.environ.get("CI") == "true":
            pytest.fail("cannot mount a tmpfs for the state directory (needs root)")
        pytest.skip("mounting a small tmpfs for the state directory needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(path: Path) -> Path:
    """Write into `path` until the disk is full; the file that holds the space."""
    filler = path / "filler"
    with filler.open("wb", buffering=0) as out:
        for block in (1 << 20, 4096):  # megabytes, then the last partial one
            with contextlib.suppress(OSError):
                while out.write(b"\0" * block):
                    pass
    return filler


def test_a_full_disk_refuses_writes_clearly_and_keeps_the_state_whole(start_service: Any, tmp_path: Path) -> None:
    with small_disk(tmp_path / "state") as state:
        service = start_service(state_dir=state)
        api = service.api()
        assert api.post("/adapters", json=light_spec("steady", 1, 1)).status_code == 201
        wait_for(lambda: ready(api, "steady"), what="steady to be Ready")

        filler = fill(state)
        refused = None
        for attempt in range(20):  # SQLite may still fit a write or two in pages it holds already
            response = api.post("/adapters", json=light_spec(f"full-{attempt}", 1, 1))
            assert response.status_code in (201, 503), response.text
            if response.status_code == 503:
                refused = (f"full-{attempt}", response)
                break
        assert refused is not None, "no write was refused on a full disk"
        name, response = refused
        assert "disk" in response.json()["detail"], response.text
        assert "full" in response.json()["detail"], response.text
        assert int(response.headers["retry-after"]) > 0
        assert api.get("/adapters").status_code == 200  # reads go on
        assert api.get("/adapters/steady").json()["status"]["phase"] == "Ready"

        filler.unlink()
        created = api.post("/adapters", json=light_spec(name, 1, 1))
        assert created.status_code == 201, created.text  # the refused create left nothing behind
        wait_for(lambda: ready(api, name), 120, f"{name} to be Ready")
        with contextlib.closing(sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert " 500 " not in service.log()
        assert "Traceback" not in service.log()


def test_a_read_only_state_directory_stops_the_start_with_a_clear_message(start_service: Any, tmp_path: Path) -> None:
    with small_disk(tmp_path / "state") as state:
        service = start_service(state_dir=state)
        assert service.api().post("/adapters", json=light_spec("kept", 1, 1)).status_code == 201
        service.stop()

        subprocess.run(["mount", "-o", "remount,ro", str(state)], check=True)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MCP_ADAPTERS_")}
        environment["MCP_ADAPTERS_STATE_DIR"] = str(state)
        refused = subprocess.run(
            [str(VENV_BIN / "mcp-adapters"), "serve", "--port", str(free_port())],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode != 0
        assert str(state) in refused.stderr, refused.stderr
        assert "read-only" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr, refused.stderr

        subprocess.run(["mount", "-o", "remount,rw", str(state)], check=True)
        again = start_service(state_dir=state)
        wait_for(lambda: ready(again.api(), "kept"), 120, "kept to be Ready after the restart")
