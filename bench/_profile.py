"""A py-spy profile of the bridge process while 32 clients load it; the top frames by own time."""

from __future__ import annotations

import collections
import subprocess
from pathlib import Path
from typing import Any

import anyio

from bench._load import run_phase
from bench._targets import VENV_BIN, Target


def profile_bridge(group: list[Target], results: Path, calls: int, cap: float) -> dict[str, Any]:
    bridge = group[0]
    assert bridge.process is not None
    results.mkdir(parents=True, exist_ok=True)
    raw = results / "bridge-profile.txt"
    spy = subprocess.Popen(
        [str(VENV_BIN / "py-spy"), "record", "-p", str(bridge.process.pid), "-f", "raw", "-o", str(raw), "-r", "200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for target in group:
            anyio.run(run_phase, target, 32, calls * 2, cap)
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
        _, err = spy.communicate(timeout=60)
    if not raw.exists():
        return {"error": err.decode(errors="replace")[-500:]}
    return summarise(raw)


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if any(marker in stack for marker in _IDLE):
            continue  # threads waiting on child processes, the event loop waiting for I/O
        total += count
        own[_short(frames[-1])] += count
        for frame in set(map(_short, frames)):
            inclusive[frame] += count

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"busy_samples": total, "own_percent": share(own), "inclusive_percent": share(inclusive)}


_IDLE = ("_do_waitpid", "EpollSelector.select", "KqueueSelector.select")


def _short(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "function (file.py)"
    name, _, where = frame.partition(" (")
    file = where.rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{name} ({file})"
