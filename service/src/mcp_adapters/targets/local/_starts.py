"""How many replicas may be starting at once.

A start is CPU-bound (the interpreter and its imports, the server's own start, the handshake), so starting a
hundred at once only makes a hundred processes share two cores: each takes a hundred times longer, and the
replicas already serving (and the control plane) get a hundredth of the machine meanwhile. A replica holds a
slot from its spawn until it is ready, it exits, or `hold_seconds` pass (a server that is slow to start, or never
answers its probe, must not keep the others waiting).
"""

from __future__ import annotations

import asyncio


class StartSlot:
    def __init__(self, gate: StartGate) -> None:
        self._gate: StartGate | None = gate
        self._timer = asyncio.get_running_loop().call_later(gate.hold_seconds, self.release)

    def release(self) -> None:
        """Give the slot back (idempotent)."""
        if self._gate is not None:
            self._timer.cancel()
            self._gate._semaphore.release()
            self._gate = None


class StartGate:
    def __init__(self, concurrency: int, hold_seconds: float) -> None:
        self._semaphore = asyncio.Semaphore(concurrency)
        self.hold_seconds = hold_seconds

    async def acquire(self) -> StartSlot:
        await self._semaphore.acquire()
        return StartSlot(self)
