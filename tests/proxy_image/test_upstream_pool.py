"""Forward mode's upstream connections: reused last-in-first-out, never reused once the upstream closed them."""

from __future__ import annotations

import anyio
import httpx
import pytest
from mcp_bridge._http import send_json
from mcp_bridge._upstream import UpstreamTransport
from starlette.types import Receive, Scope, Send

from tests.proxy_image._forward_upstream import serve

pytestmark = pytest.mark.anyio


class PortEcho:
    """Answers with the client's port (one port per connection); `?close` asks for the connection to end."""

    def __init__(self) -> None:
        self.gate: anyio.Event | None = None
        self.waiting = 0
        self.all_waiting = anyio.Event()
        self.expected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self.gate is not None:
            self.waiting += 1
            if self.waiting == self.expected:
                self.all_waiting.set()
            await self.gate.wait()
        close = scope["query_string"] == b"close"
        await send_json(send, 200, {"port": scope["client"][1]}, [(b"connection", b"close")] if close else None)


async def _port(client: httpx.AsyncClient, base: str, query: str = "") -> int:
    response = await client.get(f"{base}/{query}")
    assert response.status_code == 200
    port = response.json()["port"]
    assert isinstance(port, int)
    return port


async def test_sequential_requests_share_one_connection() -> None:
    async with serve(PortEcho()) as base, httpx.AsyncClient(transport=UpstreamTransport()) as client:
        ports = {await _port(client, base) for _ in range(5)}
    assert len(ports) == 1


async def test_concurrent_requests_open_connections_that_are_then_reused() -> None:
    app = PortEcho()
    app.gate, app.expected = anyio.Event(), 6
    async with serve(app) as base, httpx.AsyncClient(transport=UpstreamTransport()) as client:
        first: set[int] = set()

        async def one() -> None:
            first.add(await _port(client, base))

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(one)
            await app.all_waiting.wait()  # all six are at the upstream at once: six connections
            app.gate.set()
        later = {await _port(client, base) for _ in range(6)}
    assert len(first) == 6
    assert later <= first  # nothing new was opened


async def test_a_connection_the_upstream_closed_is_not_reused() -> None:
    async with serve(PortEcho()) as base, httpx.AsyncClient(transport=UpstreamTransport()) as client:
        closed = await _port(client, base, "?close")
        after = await _port(client, base)
        again = await _port(client, base)
    assert after != closed
    assert again == after


async def test_idle_connections_beyond_the_limit_are_closed() -> None:
    app = PortEcho()
    app.gate, app.expected = anyio.Event(), 3
    transport = UpstreamTransport(max_idle=1)
    async with serve(app) as base, httpx.AsyncClient(transport=transport) as client:
        first: set[int] = set()

        async def one() -> None:
            first.add(await _port(client, base))

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(one)
            await app.all_waiting.wait()
            app.gate.set()
        kept = {await _port(client, base) for _ in range(3)}
    assert len(first) == 3
    assert len(kept) == 1
    assert kept <= first
