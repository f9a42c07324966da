"""Secrets the heuristic used to miss (issue 12): never shown to readers, in previews, in CLI output or stored
in clear; still handed to the adapter's process; re-sealed when stored before; the state directory private."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import TextContent
from mcp_adapters.db.engine import make_engine, migrate, sessions
from mcp_adapters.db.tables import AdapterRow
from mcp_adapters.settings import Settings
from mcp_adapters.store import AdapterStore
from mcp_adapters.vault import Vault
from mcp_adapters.views import adapter_view
from mcp_infra.spec import SERVER_MANAGED_FIELDS, AdapterSpec

from tests.conftest import VENV_BIN
from tests.leaked_secrets import LEAKED as ISSUE_LEAKED
from tests.service.conftest import ServiceProcess, everything_spec, wait_for

pytestmark = pytest.mark.anyio
# Each was shown in clear to readers and stored unencrypted before, and one the caller marks secret.
LEAKED = {**ISSUE_LEAKED, "LICENSE": "license-s3cr3t"}
# The part that must never show: the password or key inside a URL, the whole value otherwise.
CLEAR = {name: (re.findall(r"[a-z]+-s3cr3t", value) or [value])[0] for name, value in LEAKED.items()}
OLD_SECRETS = [name for name in LEAKED if name != "LICENSE"]
READER = {"X-Dev-UserId": "bob", "X-Dev-Roles": "readers"}


def leaky_spec(name: str) -> dict[str, Any]:
    spec = everything_spec(name, requiredRoles=["readers"], secretEnvironmentVariables=["LICENSE"])
    spec["environmentVariables"] |= {**LEAKED, "GREETING": "hello"}
    return spec


def assert_hidden(text: str, where: str) -> None:
    shown = [name for name, clear in CLEAR.items() if clear in text]
    assert shown == [], f"{where} shows the value of {shown}"


def assert_redacted(adapter: dict[str, Any]) -> None:
    assert {k: adapter["environmentVariables"][k] for k in LEAKED} == dict.fromkeys(LEAKED, "<redacted>")
    assert adapter["environmentVariables"]["GREETING"] == "hello"
    assert adapter["secretEnvironmentVariables"] == ["LICENSE"]


def assert_stored_sealed(state_dir: Path, secrets: list[str]) -> None:
    with sqlite3.connect(state_dir / "state.db") as db:
        rows = db.execute("SELECT name, spec, secret_keys FROM adapters").fetchall()
    assert rows
    for name, spec, secret_keys in rows:
        assert_hidden(spec, f"the stored row of {name}")
        assert sorted(json.loads(secret_keys)) == sorted(secrets)
    for path in state_dir.glob("state.db*"):  # the database, its write-ahead log and shared memory, byte for byte
        assert_hidden(path.read_bytes().decode("latin-1"), path.name)


def cli(*args: str) -> str:
    done = subprocess.run([str(VENV_BIN / "mcp-adapters"), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


async def environment_of(url: str, names: list[str]) -> dict[str, Any]:
    """What the adapter's server process sees, asked through the control plane's endpoint."""
    found = {}
    async with Client(url, mode="legacy") as client:
        for name in names:
            result = await client.call_tool("env", {"name": name})
            assert not result.is_error, result
            content = result.content[0]
            assert isinstance(content, TextContent), content
            found[name] = json.loads(content.text)["value"]
    return found


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for directory, subdirectories, files in os.walk(root):
        for name in (*subdirectories, *files):
            path = Path(directory, name)
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


async def test_no_reader_preview_cli_or_row_shows_a_secret_and_the_adapter_gets_it(
    start_service: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    (state / "local" / "old").mkdir(parents=True)  # an earlier run, from before the state was kept private
    (state / "local" / "old" / "old-0.log").write_text("old output\n")
    for path in (state, state / "local", state / "local" / "old"):
        path.chmod(0o755)
    (state / "local" / "old" / "old-0.log").chmod(0o644)
    service: ServiceProcess = start_service(state_dir=state)
    api, reader = service.api(), service.api(**READER)
    spec = leaky_spec("leaky")
    adapter_file = tmp_path / "leaky.json"
    adapter_file.write_text(json.dumps(spec))

    preview = api.post("/adapters", json=spec, params={"dryRun": "true"})
    assert preview.status_code == 200, preview.text
    assert_hidden(preview.text, "the create preview")
    assert_redacted(preview.json()["adapter"])
    created = api.post("/adapters", json=spec)
    assert created.status_code == 201, created.text
    assert_hidden(created.text, "the create response")
    wait_for(lambda: api.get("/adapters/leaky/status").json()["phase"] == "Ready", what="leaky to be Ready")
    assert api.post("/adapters", json=leaky_spec("other")).status_code == 201

    got, listed = reader.get("/adapters/leaky"), reader.get("/adapters")
    assert got.status_code == 200
    assert listed.status_code == 200
    assert_redacted(got.json())
    assert [a["name"] for a in listed.json()] == ["leaky", "other"]
    for adapter in listed.json():
        assert_redacted(adapter)
    assert_hidden(got.text + listed.text, "GET and the list, as a reader")
    sent_back = {k: v for k, v in got.json().items() if k not in SERVER_MANAGED_FIELDS} | {"description": "x"}
    update = api.put("/adapters/leaky", json=sent_back, params={"dryRun": "true"})
    assert update.status_code == 200, update.text
    assert_hidden(update.text, "the update preview")

    connect = ["--server", service.url, "--user", "bob", "--roles", "readers"]
    printed = cli("get", "leaky", "-o", "json", *connect) + cli("list", "-o", "yaml", *connect)
    printed += cli("apply", "-f", str(adapter_file), "--dry-run", "-o", "json", "--server", service.url)
    printed += cli("apply", "-f", str(adapter_file), "--dry-run", "--server", service.url)
    printed += cli("render", "-f", str(adapter_file), "-o", "yaml") + cli(
        "render", "-f", str(adapter_file), "-o", "json"
    )
    assert "leaky" in printed
    assert_hidden(printed, "the CLI")

    # The adapter's process gets every real value, through the control plane's own endpoint.
    assert await environment_of(f"{service.url}/adapters/leaky/mcp", list(LEAKED)) == LEAKED
    assert_stored_sealed(state, list(LEAKED))
    assert_hidden(service.log(), "the service log")

    # Everything in the state directory is the service user's alone, what the earlier run left included.
    found = modes(state)
    for private in ("state.db", "state.db-wal", "state.db-shm", "secret.key", "local/leaky/leaky-0.pid"):
        assert found.get(private) == 0o600, (private, found)
    assert found["local/leaky/leaky-0.log"] == found["local/old/old-0.log"] == 0o600
    assert found["."] == found["local"] == found["local/old"] == 0o700
    assert {p: oct(m) for p, m in found.items() if m & 0o077} == {}
    assert "made 4 file(s) and directories private to this user" in service.log()


def store_as_before(state_dir: Path, specs: list[dict[str, Any]]) -> None:
    """Rows as a version before issue 12 stored them: these values in clear, not named as secrets."""
    settings = Settings(state_dir=state_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    store = AdapterStore(sessions(engine), Vault.from_settings(None, state_dir))
    for body in specs:
        store.create(AdapterSpec.model_validate(body), "alice")
        with store.sessions.begin() as session:
            row = session.get(AdapterRow, body["name"])
            assert row is not None
            row.spec = {k: v for k, v in body.items() if k != "secretEnvironmentVariables"}
            row.secret_keys = []
    engine.dispose()


def old_spec(name: str) -> dict[str, Any]:
    spec = leaky_spec(name)
    del spec["environmentVariables"]["LICENSE"], spec["secretEnvironmentVariables"]
    return spec


def stored(store: AdapterStore, name: str) -> AdapterRow:
    row = store.get(name)
    assert row is not None, name
    return row


def test_rows_stored_before_are_sealed_on_the_next_start(make_client: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    store_as_before(state, [old_spec("old"), old_spec("older")])
    with sqlite3.connect(state / "state.db") as db:
        assert CLEAR["DATABASE_URL"] in db.execute("SELECT spec FROM adapters WHERE name = 'old'").fetchone()[0]

    client = make_client(state_dir=state)
    listed = client.get("/adapters", headers=READER)
    assert [a["environmentVariables"]["DATABASE_URL"] for a in listed.json()] == ["<redacted>", "<redacted>"]
    assert_hidden(listed.text, "the list after the upgrade")
    store: AdapterStore = client.app.state.runtime.store
    for name in ("old", "older"):
        row = stored(store, name)
        assert sorted(row.secret_keys) == sorted(OLD_SECRETS)
        assert store.opened_spec(row).environment_variables == old_spec(name)["environmentVariables"]
    assert_stored_sealed(state, OLD_SECRETS)  # no clear copy left in replaced pages or the log either


def test_a_row_not_sealed_yet_is_still_shown_redacted(tmp_path: Path) -> None:
    # Written by a replica still running the older version, after this one re-sealed at its start.
    state = tmp_path / "state"
    store_as_before(state, [old_spec("old")])
    engine = make_engine(Settings(state_dir=state).sqlalchemy_url)
    row = stored(AdapterStore(sessions(engine), Vault.from_settings(None, state)), "old")
    shown = adapter_view(row, None).environment_variables
    assert {k: shown[k] for k in OLD_SECRETS} == dict.fromkeys(OLD_SECRETS, "<redacted>")
    engine.dispose()


class CrashingVault(Vault):
    """Dies (like a killed process) when asked to seal for the `seals`+1-th time."""

    def __init__(self, key: bytes, seals: int) -> None:
        super().__init__(key)
        self.seals = seals

    def seal(self, env: dict[str, str], names: list[str]) -> dict[str, str]:
        if self.seals == 0:
            raise KeyboardInterrupt
        self.seals -= 1
        return super().seal(env, names)


def test_a_start_that_stops_while_resealing_leaves_whole_rows_and_the_next_one_finishes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store_as_before(state, [old_spec("first"), old_spec("second")])
    engine = make_engine(Settings(state_dir=state).sqlalchemy_url)
    key = (state / "secret.key").read_bytes()

    crashing = AdapterStore(sessions(engine), CrashingVault(key, seals=1))
    with pytest.raises(KeyboardInterrupt):
        crashing.reseal()
    store = AdapterStore(sessions(engine), Vault(key))
    first, second = stored(store, "first"), stored(store, "second")
    assert sorted(first.secret_keys) == sorted(OLD_SECRETS)
    assert (second.secret_keys, second.spec) == ([], old_spec("second"))  # untouched, not half-sealed
    for row in (first, second):
        assert store.opened_spec(row).environment_variables == old_spec(row.name)["environmentVariables"]

    before = stored(store, "second").next_attempt_at
    assert store.reseal() == ["second"]
    assert stored(store, "second").next_attempt_at > before  # due: a target redeploys it from a Secret
    assert store.reseal() == []
    engine.dispose()
