"""Replica output kept in files under the state dir: tail it, or follow it as it grows."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path

_CHUNK = 64 * 1024


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines, reading from the end so big logs cost little."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            data = b""
            while end > 0 and data.count(b"\n") <= lines:
                step = min(_CHUNK, end)
                end -= step
                handle.seek(end)
                data = handle.read(step) + data
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    return list(deque(text, maxlen=lines)) if lines else []


def rotate(path: Path, max_bytes: int) -> None:
    try:
        if path.stat().st_size > max_bytes:
            path.replace(path.with_suffix(path.suffix + ".1"))
    except FileNotFoundError:
        pass


def cut_down(path: Path, max_bytes: int) -> bool:
    """Keep a log that a running process writes to within bounds: once over `max_bytes`, its newest half goes to
    `<log>.1` and the file is emptied in place (the writer appends, so it goes on at the new end). Lines written
    between the copy and the emptying are lost; the file says where. True when it was cut."""
    try:
        size = path.stat().st_size
        if size <= max_bytes:
            return False
        kept = max_bytes // 2
        with path.open("rb") as source:
            source.seek(size - kept)
            newest = source.read(kept)
        path.with_suffix(path.suffix + ".1").write_bytes(newest)
        with path.open("r+b") as log:
            log.truncate(0)
            log.write(
                f"--- mcp-adapters: log over {max_bytes} bytes; its newest {kept} bytes are in {path.name}.1\n".encode()
            )
    except FileNotFoundError:
        return False
    return True


async def follow(path: Path, lines: int, keep_going: Callable[[], bool], interval: float = 0.25) -> AsyncIterator[str]:
    """The last `lines` lines, then every new line, until `keep_going()` turns false."""
    for line in tail(path, lines):
        yield line + "\n"
    position = _size(path)
    pending = b""
    while keep_going():
        size = _size(path)
        if size < position:  # rotated or truncated: start over
            position = 0
        if size > position:
            pending += _read(path, position, size)
            position = size
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                yield raw.decode("utf-8", errors="replace") + "\n"
        else:
            await asyncio.sleep(interval)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read(end - start)
