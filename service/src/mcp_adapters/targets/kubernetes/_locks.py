"""Evidence of unfinished work: the backend's stack locks, and our own journal of running operations."""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mcp_adapters.targets import _procs

_LOCK_LINE = re.compile(
    r"(?P<path>\S+\.json): created by (?P<user>[^@\s]+)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<at>\S+)"
)


@dataclass(frozen=True)
class LockInfo:
    """A DIY-backend lock, as the CLI describes it when it refuses to run."""

    path: str
    user: str
    host: str
    pid: int
    created: datetime | None

    @classmethod
    def parse(cls, text: str) -> LockInfo | None:
        match = _LOCK_LINE.search(text)
        if match is None:
            return None
        try:
            created: datetime | None = datetime.fromisoformat(match["at"].replace("Z", "+00:00"))
        except ValueError:
            created = None
        return cls(match["path"], match["user"], match["host"], int(match["pid"]), created)

    def describe(self) -> str:
        since = f" since {self.created.isoformat()}" if self.created else ""
        return f"a lock held by {self.user}@{self.host} (pid {self.pid}){since}"

    def stale(self, now: datetime, stale_after: timedelta) -> str | None:
        """Why nobody can still be working under this lock, or None when someone may be."""
        if self.host == socket.gethostname() and not _procs.alive(self.pid):
            return f"process {self.pid} on this host is gone"
        if self.created is not None and now - self.created > stale_after:
            return f"it is older than {stale_after.total_seconds():.0f}s, longer than any operation may run"
        return None


@dataclass(frozen=True)
class Journal:
    """Written before an operation that takes the stack lock, removed after: left behind means we died."""

    verb: str
    run: str
    pid: int
    host: str
    started: str

    @classmethod
    def read(cls, path: Path) -> Journal | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
