"""Child processes of the host: stopping them when the engine gives up, and relaying a plugin's output as it comes."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from typing import IO, Literal

Stream = Literal["stdout", "stderr"]
_CHUNK = 64 * 1024


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds: the engine cancelled the call that started it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()


def _pump(name: Stream, pipe: IO[bytes], out: queue.Queue[tuple[Stream, bytes] | None]) -> None:
    # os.read returns whatever is there: a plugin's port line must not wait for a full buffer.
    fd = pipe.fileno()
    try:
        while chunk := os.read(fd, _CHUNK):
            out.put((name, chunk))
    finally:
        pipe.close()
        out.put(None)


def output(process: subprocess.Popen[bytes]) -> Iterator[tuple[Stream, bytes]]:
    """The process's stdout and stderr chunks, interleaved as they arrive, until both are closed."""
    assert process.stdout is not None
    assert process.stderr is not None
    chunks: queue.Queue[tuple[Stream, bytes] | None] = queue.Queue()
    for name, pipe in (("stdout", process.stdout), ("stderr", process.stderr)):
        threading.Thread(target=_pump, args=(name, pipe, chunks), daemon=True, name=f"plugin-{name}").start()
    open_pipes = 2
    while open_pipes:
        item = chunks.get()
        if item is None:
            open_pipes -= 1
        else:
            yield item
