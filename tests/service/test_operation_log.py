"""The operation log: what the engine wrote reaches the database, even when the operation ends mid-write."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from mcp_adapters.reconciler.loop import OperationLogWriter

pytestmark = pytest.mark.anyio


class SlowQueue:
    """Stands in for the work queue's database writes: the first one waits until the test lets it go."""

    def __init__(self) -> None:
        self.written: list[tuple[str, Any]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def append_log(self, operation_id: int, text: str, changes: Any = None) -> None:
        if not self.started.is_set():
            self.started.set()
            assert self.release.wait(10)
        self.written.append((text, changes))


async def test_lines_and_changes_in_a_flush_under_way_when_the_operation_ends_are_written() -> None:
    # The real engine showed it: the operation ended while the periodic flush waited for the database; the
    # flush was cancelled, its worker skipped the write, and the summary and every line since were lost.
    queue = SlowQueue()
    log = OperationLogWriter(queue, 7, "github")  # type: ignore[arg-type]
    async with log.streaming(every=0.01):
        log.write("create kubernetes:apps/v1:StatefulSet github")
        log.record_changes({"create": 8})
        await anyio.to_thread.run_sync(queue.started.wait, 10)  # the periodic flush is writing now
        log.write("up finished: create 8")
        threading.Timer(0.2, queue.release.set).start()  # the write finishes after the operation has ended
    text = "".join(t for t, _ in queue.written)
    assert "create kubernetes:apps/v1:StatefulSet github" in text
    assert "up finished: create 8" in text
    assert {"create": 8} in [c for _, c in queue.written]
