"""The same `tools/call` from a minimal client: pre-built JSON-RPC on a raw pipe (stdio) or raw HTTP/1.1.

The MCP SDK client costs over a millisecond of CPU per call on HTTP (half that
on stdio), more than the bridge itself, and on a 2-core machine it competes
with what it measures. Here each client is a loop that writes prepared bytes
and reads the answer, so the difference between the stdio and the HTTP rows
is what the proxy (HTTP parsing, routing, the pipe to the server) adds, for
mcp-bridge and for its peers alike.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from bench._load import OpenClient, Phase, closed_loop
from bench._targets import SERVER_ARGV

WARMUP_CALLS = 20
_CALL_PARAMS = {"name": "add", "arguments": {"a": 20, "b": 22}}
_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "wire-bench", "version": "1"},
}


def _line(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()


def _initialize(request_id: int) -> dict[str, Any]:
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "wire-bench", "version": "1"}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


_INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def _call(request_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


class _Stdio:
    def __init__(self, process: anyio.abc.Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process, self.stdin = process, process.stdin
        self.reader = BufferedByteReceiveStream(process.stdout)

    async def ask(self, msg: dict[str, Any]) -> dict[str, Any]:
        await self.stdin.send(_line(msg) + b"\n")
        while True:
            reply: dict[str, Any] = json.loads(await self.reader.receive_until(b"\n", 1 << 24))
            if "id" in reply and "method" not in reply:
                return reply

    async def notify(self, msg: dict[str, Any]) -> None:
        await self.stdin.send(_line(msg) + b"\n")


class _Http:
    """One keep-alive connection. Answers come as JSON (the bridge's fast path) or, from the peers, as a
    chunked SSE response that the server ends after the answer."""

    def __init__(self, stream: anyio.abc.SocketStream, host: str, path: str) -> None:
        self.stream, self.host, self.path = stream, host, path
        self.reader = BufferedByteReceiveStream(stream)
        self.session: str | None = None

    async def post(self, msg: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        body = _line(msg)
        head = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}", "Content-Type: application/json"]
        head += ["Accept: application/json, text/event-stream", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if self.session:
            head.append(f"Mcp-Session-Id: {self.session}")
        await self.stream.send("\r\n".join(head).encode() + b"\r\n\r\n" + body)
        return await self._response()

    async def _response(self) -> tuple[int, dict[str, str], bytes]:
        status_line, *lines = (await self.reader.receive_until(b"\r\n\r\n", 1 << 16)).decode("latin-1").split("\r\n")
        found = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        if found.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self.reader.receive_until(b"\r\n", 64)).split(b";")[0], 16):
                chunks.append(await self.reader.receive_exactly(size))
                await self.reader.receive_exactly(2)
            await self.reader.receive_until(b"\r\n", 1 << 16)  # no trailers are sent: the blank line
            return int(status_line.split()[1]), found, b"".join(chunks)
        length = int(found.get("content-length", "0"))
        content = await self.reader.receive_exactly(length) if length else b""
        return int(status_line.split()[1]), found, content

    async def ask(self, msg: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        status, found, content = await self.post(msg, headers)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {content[:200]!r}")
        if not found.get("content-type", "").startswith("text/event-stream"):
            reply: dict[str, Any] = json.loads(content)
            return reply
        for line in content.splitlines():
            if line.startswith(b"data:"):
                event: dict[str, Any] = json.loads(line[5:])
                if "id" in event and "method" not in event:
                    return event
        raise RuntimeError(f"no answer in the event stream: {content[:200]!r}")


def _stdio_client() -> OpenClient:
    @asynccontextmanager
    async def client() -> AsyncIterator[Callable[[], Awaitable[bool]]]:
        async with await anyio.open_process(SERVER_ARGV) as process:
            stdio = _Stdio(process)
            await stdio.ask(_initialize(0))
            await stdio.notify(_INITIALIZED)
            counter = 0

            async def one_call() -> bool:
                nonlocal counter
                counter += 1
                return "error" in await stdio.ask(_call(counter, _CALL_PARAMS))

            try:
                yield one_call
            finally:
                await stdio.stdin.aclose()
                with anyio.move_on_after(5):
                    await process.wait()
                if process.returncode is None:
                    process.kill()

    return client


def _http_client(url: str, mode: str) -> OpenClient:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    assert host is not None
    assert port is not None

    @asynccontextmanager
    async def client() -> AsyncIterator[Callable[[], Awaitable[bool]]]:
        async with await anyio.connect_tcp(host, port) as stream:
            http = _Http(stream, parts.netloc, parts.path)
            headers: dict[str, str] = {}
            params: dict[str, Any] = dict(_CALL_PARAMS)
            if mode == "2026-07-28":
                headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "add"}
                params["_meta"] = _META
            else:
                status, found, _ = await http.post(_initialize(0), {})
                assert status == 200, status
                http.session = found["mcp-session-id"]
                await http.post(_INITIALIZED, {})
            counter = 0

            async def one_call() -> bool:
                nonlocal counter
                counter += 1
                return "error" in await http.ask(_call(counter, params), headers)

            try:
                yield one_call
            finally:
                if http.session:
                    head = [f"DELETE {parts.path} HTTP/1.1", f"Host: {parts.netloc}", f"Mcp-Session-Id: {http.session}"]
                    await stream.send("\r\n".join(head).encode() + b"\r\n\r\n")
                    await http.reader.receive_until(b"\r\n\r\n", 1 << 16)

    return client


async def wire_phase(name: str, url: str | None, mode: str, clients: int, calls: int, cap: float) -> Phase:
    """`url` None: the stdio server itself (handshake era, one process per client)."""
    if url is None:
        return await closed_loop(_stdio_client(), clients, calls, cap, name, "legacy", WARMUP_CALLS)
    return await closed_loop(_http_client(url, mode), clients, calls, cap, name, mode, WARMUP_CALLS)
