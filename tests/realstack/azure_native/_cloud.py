"""The stand-in's "Azure": one JSON file per resource under a directory, shared by every plugin process.

A record is `{"id", "type", "token", "inputs", "generated"}`: `type` is the ARM
type, `token` the Pulumi type that manages it (none for seeded resources such
as resource groups and clusters), `inputs` what was last written (SDK shape),
`generated` what Azure itself assigned (client and principal ids, timestamps).
Azure resource ids are case-insensitive, so files are named by the hash of the
lower-cased id. Writes go through a temporary file and `os.replace`; every
read-check-write sequence holds an exclusive `flock` on `<root>/.lock`, which
also serialises two engines' plugin processes working on the same cloud.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Record = dict[str, Any]


class Cloud:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.resources_dir = root / "resources"
        self.held_dir = root / "held"
        self.release_dir = root / "release"
        for directory in (self.resources_dir, self.held_dir, self.release_dir):
            directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _path(self, resource_id: str) -> Path:
        digest = hashlib.sha256(resource_id.rstrip("/").lower().encode()).hexdigest()[:40]
        return self.resources_dir / f"{digest}.json"

    def get(self, resource_id: str) -> Record | None:
        try:
            record: Record = json.loads(self._path(resource_id).read_text())
        except FileNotFoundError:
            return None
        return record

    def put(self, record: Record) -> None:
        _write_atomically(self._path(record["id"]), json.dumps(record, indent=2, sort_keys=True))

    def delete(self, resource_id: str) -> bool:
        try:
            self._path(resource_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def all(self) -> list[Record]:
        records: list[Record] = []
        for path in sorted(self.resources_dir.glob("*.json")):
            with contextlib.suppress(FileNotFoundError):  # deleted between the listing and the read
                records.append(json.loads(path.read_text()))
        return sorted(records, key=lambda record: str(record["id"]).lower())

    def mark_held(self, name: str, details: dict[str, Any]) -> None:
        _write_atomically(self.held_dir / name, json.dumps(details))

    def log_call(self, entry: dict[str, Any]) -> None:
        """One line per gRPC call, for tests and for seeing what the engine asks."""
        line = json.dumps(entry, sort_keys=True) + "\n"
        with open(self.root / "calls.jsonl", "a", encoding="utf-8") as log:
            fcntl.flock(log, fcntl.LOCK_EX)
            log.write(line)


def _write_atomically(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
