"""The generated key files (the vault's key, the Pulumi passphrase, the fingerprint key): one creator wins."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mcp_adapters import keyfile
from mcp_adapters.errors import ConfigurationError

# Each process waits for the start file, then asks for the key. Making one takes a while, so every racer finds no
# file, makes its own key, and tries to create the file with it: one wins, the others lose that race.
RACER = """
import os, sys, time
from pathlib import Path
from mcp_adapters import keyfile

def slow_key():
    time.sleep(0.2)
    return os.urandom(16).hex().encode()

start = Path(sys.argv[2])
print("ready", flush=True)
while not start.exists():
    time.sleep(0.001)
print(keyfile.read_or_create(Path(sys.argv[1]), slow_key).decode(), flush=True)
"""


def test_processes_racing_to_create_the_key_all_get_the_one_written(tmp_path: Path) -> None:
    path, start = tmp_path / "state" / "secret.key", tmp_path / "start"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(path), str(start)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
        )
        for _ in range(4)
    ]
    for racer in racers:
        assert racer.stdout is not None
        assert racer.stdout.readline() == "ready\n"
    start.touch()
    keys = {racer.communicate(timeout=30)[0].strip() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    assert keys == {path.read_text()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_threads_racing_to_create_the_key_all_get_the_one_written(tmp_path: Path) -> None:
    path = tmp_path / "fingerprint.key"
    barrier = threading.Barrier(8)
    keys: list[bytes] = []

    def racer(number: int) -> None:
        def slow_key() -> bytes:
            time.sleep(0.1)  # every racer finds no file before the first one creates it
            return f"key of racer {number}".encode()

        barrier.wait()
        keys.append(keyfile.read_or_create(path, slow_key))

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert set(keys) == {path.read_bytes()}


def test_a_loser_waits_for_the_winner_to_write(tmp_path: Path) -> None:
    path = tmp_path / "passphrase"
    path.touch(mode=0o600)  # the winner has created the file and not yet written it

    def winner_writes() -> None:
        time.sleep(0.2)
        path.write_bytes(b"the winner's key")

    writer = threading.Thread(target=winner_writes)
    writer.start()
    try:
        assert keyfile.read_or_create(path, lambda: b"the loser's key") == b"the winner's key"
    finally:
        writer.join()


def test_an_existing_key_is_read_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(b"kept")
    assert keyfile.read_or_create(path, lambda: b"new") == b"kept"
    assert path.read_bytes() == b"kept"


def test_a_file_its_creator_never_wrote_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyfile, "WRITE_WAIT_SECONDS", 0.1)
    path = tmp_path / "secret.key"
    path.touch()
    with pytest.raises(ConfigurationError, match="is empty: the process creating it stopped before writing it"):
        keyfile.read_or_create(path, lambda: b"new")
