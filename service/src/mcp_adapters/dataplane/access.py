"""The adapter records the data plane checks each call against, read from the database at most once a second.

A tool call needs the adapter's access rules (its creator, `requiredRoles`, whether it is being deleted). Reading
them on every call put a worker-thread hop and a query in front of each one; within `fresh_seconds` a call uses
the record the last one read, so a change to the rules (or a delete) applies within that time. While the database
is away, calls go on with the last record read: MCP traffic does not stop because the control plane's database
restarts. An adapter never read before cannot be called until the database answers.
"""

from __future__ import annotations

import asyncio
import time

from mcp_adapters.db.engine import UNAVAILABLE
from mcp_adapters.db.tables import AdapterRow
from mcp_adapters.store import AdapterStore

FRESH_SECONDS = 1.0


class AdapterAccess:
    def __init__(self, store: AdapterStore, fresh_seconds: float = FRESH_SECONDS) -> None:
        self.store = store
        self.fresh_seconds = fresh_seconds
        self._read: dict[str, tuple[AdapterRow, float]] = {}

    async def row(self, name: str) -> AdapterRow | None:
        now = time.monotonic()
        known = self._read.get(name)
        if known is not None and now - known[1] < self.fresh_seconds:
            return known[0]
        try:
            row = await asyncio.to_thread(self.store.get, name)
        except UNAVAILABLE:
            if known is None:
                raise
            return known[0]
        if row is None:
            self._read.pop(name, None)
        else:
            self._read[name] = (row, now)
        return row
