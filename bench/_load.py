"""Closed-loop load: N MCP clients, each calling `tools/call add` back to back; latencies and throughput."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from bench._targets import SERVER_ARGV, Target

WARMUP_CALLS = 3


@dataclass
class Phase:
    target: str
    mode: str
    clients: int
    calls: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]

    def summary(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "mode": self.mode,
            "clients": self.clients,
            "calls": self.calls,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50), 3),
            "p99_ms": round(self.percentile(99), 3),
        }


def _client(target: Target) -> Client:
    if target.url is None:
        server = StdioServerParameters(command=SERVER_ARGV[0], args=SERVER_ARGV[1:])
        return Client(server, mode=target.mode)
    return Client(target.url, mode=target.mode)


# One client: an async context manager that yields a coroutine function making one call and saying if it failed.
OpenClient = Callable[[], AbstractAsyncContextManager[Callable[[], Awaitable[bool]]]]


async def run_phase(target: Target, clients: int, calls_per_client: int, cap: float) -> Phase:
    @asynccontextmanager
    async def sdk_client() -> AsyncIterator[Callable[[], Awaitable[bool]]]:
        async with _client(target) as client:

            async def call() -> bool:
                result = await client.call_tool("add", {"a": 20, "b": 22})
                return bool(result.is_error)

            yield call

    return await closed_loop(sdk_client, clients, calls_per_client, cap, target.name, target.mode)


async def closed_loop(
    open_client: OpenClient, clients: int, calls: int, cap: float, name: str, mode: str, warmup: int = WARMUP_CALLS
) -> Phase:
    """`clients` clients call back to back, all starting together after a warm-up; stops at `calls` each or `cap` s."""
    latencies: list[float] = []
    errors = 0
    ready = 0
    all_ready, go = anyio.Event(), anyio.Event()
    ends: list[float] = []
    start = 0.0

    async def worker() -> None:
        nonlocal ready, errors
        async with open_client() as one_call:
            for _ in range(warmup):
                await one_call()
            ready += 1
            if ready == clients:
                all_ready.set()
            await go.wait()
            deadline = start + cap
            for _ in range(calls):
                if time.perf_counter() >= deadline:
                    break
                began = time.perf_counter()
                if await one_call():
                    errors += 1
                latencies.append((time.perf_counter() - began) * 1000)
            ends.append(time.perf_counter())

    with anyio.fail_after(cap + 240):  # connecting 32 stdio servers on a busy 2-core box takes a while
        async with anyio.create_task_group() as tg:
            for _ in range(clients):
                tg.start_soon(worker)
            await all_ready.wait()
            start = time.perf_counter()
            go.set()
    seconds = max(ends) - start if ends else 0.0
    return Phase(name, mode, clients, len(latencies), errors, seconds, latencies)
