"""Linux process facts from /proc: is this pid still the process we started, who are its children, signalling them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path


def start_time(pid: int) -> int | None:
    """Clock ticks after boot when `pid` started; with the pid it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def alive(pid: int) -> bool:
    return start_time(pid) is not None


def group_alive(pgid: int) -> bool:
    """Whether any live process is in this process group (a group outlives its leader)."""
    return any(fields[0] != "Z" and int(fields[2]) == pgid for _, fields in _stats())


def is_ours(pid: int, started: int, replica_id: str) -> bool:
    """The same process we started (pid and start time match) and it runs our replica."""
    if start_time(pid) != started:
        return False
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"MCP_BRIDGE_REPLICA_ID={replica_id}".encode() in environ


def _stats() -> Iterator[tuple[int, list[str]]]:
    """Every process's pid and /proc/<pid>/stat fields after the command name (state, ppid, pgrp, ...)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue


def marked(marker: bytes) -> list[int]:
    """Processes whose environment holds `marker` (a `NAME=value` entry, exactly)."""
    found = []
    for pid, fields in _stats():
        if fields[0] == "Z":
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            found.append(pid)
    return found


def parent_map() -> dict[int, int]:
    """Every process's parent, read from /proc at once."""
    return {pid: int(fields[1]) for pid, fields in _stats()}


def descendants(pid: int, parents: dict[int, int] | None = None) -> list[int]:
    parents = parent_map() if parents is None else parents
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def signal_children(
    predicate: Callable[[list[str]], bool], sig: signal.Signals, *, with_descendants: bool = False
) -> int:
    """Send `sig` to every descendant of this process whose command line matches (and, `with_descendants`, to
    everything those started); returns how many matched."""
    parents = parent_map()
    matched = [pid for pid in descendants(os.getpid(), parents) if predicate(cmdline(pid))]
    # Collected before any signal: once a process dies its children move to another parent and out of our sight.
    targets = list(matched)
    if with_descendants:
        targets += [child for pid in matched for child in descendants(pid, parents)]
    sent = 0
    for pid in dict.fromkeys(targets):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            if pid in matched:
                sent += 1
    return sent


def signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kill_tree(pid: int) -> None:
    """SIGKILL the group and the groups of every descendant (the bridge puts its server in its own)."""
    groups = {pid}
    for child in [pid, *descendants(pid)]:  # a process need not lead its group (a sandbox's inner half)
        try:
            groups.add(os.getpgid(child))
        except ProcessLookupError:
            continue
    for group in groups:
        signal_group(group, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
