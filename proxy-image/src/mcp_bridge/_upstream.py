"""Forward mode's connections to its upstream: a last-in-first-out stack of idle HTTP/1.1 connections.

httpcore's own pool re-examines every connection it holds whenever a request
starts or a response closes (a `getpeername` and a `poll` per idle connection),
so its cost per request grows with the number of concurrent clients: under
load that bookkeeping was most of forward mode's busy time and held it far
below the upstream's own throughput. Here a request takes the most
recently used idle connection and checks only that one; a closed response
gives its connection back. The stack's bottom (the longest idle) is checked
on each return, so expired connections do not linger.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import anyio
import httpcore
import httpx


class LifoConnectionPool(httpcore.AsyncConnectionPool):
    """The settings of httpcore's pool (TLS, keep-alive expiry, idle limit); O(1) work per request."""

    def __init__(self, *, max_idle: int, keepalive_expiry: float | None) -> None:
        super().__init__(
            ssl_context=httpx.create_ssl_context(),
            max_connections=None,
            max_keepalive_connections=max_idle,
            keepalive_expiry=keepalive_expiry,
        )
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncConnectionInterface]] = {}
        self._busy: set[httpcore.AsyncConnectionInterface] = set()

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        origin = request.url.origin
        connection = await self._take(origin)
        self._busy.add(connection)
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            await self._discard(connection)
            raise
        stream = response.stream
        assert isinstance(stream, AsyncIterable)
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_GiveBack(stream, self, origin, connection),
            extensions=response.extensions,
        )

    async def _take(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        idle = self._idle.get(_key(origin))
        while idle:
            connection = idle.pop()
            if connection.is_available() and not connection.has_expired():
                return connection
            await _close(connection)
        return self.create_connection(origin)

    async def give_back(self, origin: httpcore.Origin, connection: httpcore.AsyncConnectionInterface) -> None:
        self._busy.discard(connection)
        idle = self._idle.setdefault(_key(origin), [])
        if connection.is_idle() and len(idle) < self._max_keepalive_connections:
            idle.append(connection)
        else:
            await _close(connection)
        if idle and idle[0] is not connection and idle[0].has_expired():
            await _close(idle.pop(0))

    async def _discard(self, connection: httpcore.AsyncConnectionInterface) -> None:
        self._busy.discard(connection)
        await _close(connection)

    async def aclose(self) -> None:
        connections = [c for idle in self._idle.values() for c in idle] + list(self._busy)
        self._idle.clear()
        self._busy.clear()
        for connection in connections:
            await _close(connection)


class _GiveBack:
    """A response body that returns its connection to the pool once closed."""

    def __init__(
        self,
        stream: AsyncIterable[bytes],
        pool: LifoConnectionPool,
        origin: httpcore.Origin,
        connection: httpcore.AsyncConnectionInterface,
    ) -> None:
        self.stream, self.pool, self.origin, self.connection = stream, pool, origin, connection
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            yield chunk

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        with anyio.CancelScope(shield=True):
            close = getattr(self.stream, "aclose", None)
            try:
                if close is not None:
                    await close()
            finally:
                await self.pool.give_back(self.origin, self.connection)


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return origin.scheme, origin.host, origin.port  # Origin itself is not hashable


async def _close(connection: httpcore.AsyncConnectionInterface) -> None:
    with anyio.CancelScope(shield=True):
        await connection.aclose()


class UpstreamTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (request and error mapping unchanged) over the LIFO pool."""

    def __init__(self, *, max_idle: int = 128, keepalive_expiry: float = 5.0) -> None:
        super().__init__()
        self._pool = LifoConnectionPool(max_idle=max_idle, keepalive_expiry=keepalive_expiry)
