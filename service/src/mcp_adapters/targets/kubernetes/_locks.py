"""Evidence of unfinished work: the backend's stack locks, and our own journal of running operations."""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mcp_adapters.targets import _procs

# As the DIY backend lists a lock: `file:///.../locks/organization/<project>/<stack>/<uuid>.json?no_tmp_dir=true:
# created by user@host (pid N) at <RFC 3339>` (the query is the fileblob option the CLI opens file:// buckets with).
_LOCK_LINE = re.compile(
    r"(?P<path>\S+?\.json)(?:\?\S*)?: created by (?P<user>[^@\s]+)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<at>\S+)"
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
    def parse(cls, text: str) -> list[LockInfo]:
        """Every lock the CLI lists (the DIY backend prints one line per lock file of the stack)."""
        return [cls._of(match) for match in _LOCK_LINE.finditer(text)]

    @classmethod
    def _of(cls, match: re.Match[str]) -> LockInfo:
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


def all_stale(locks: list[LockInfo], now: datetime, stale_after: timedelta) -> str | None:
    """Why every listed lock is stale, or None when any may be live (or none could be read).

    `pulumi cancel` deletes every lock of the stack, so one live lock among stale ones forbids it.
    """
    reasons = [(lock, lock.stale(now, stale_after)) for lock in locks]
    if not reasons or any(reason is None for _, reason in reasons):
        return None
    return "; ".join(f"{lock.describe()} is stale: {reason}" for lock, reason in reasons)


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
