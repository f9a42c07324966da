"""One stdio MCP server process: newline-delimited JSON-RPC on stdin/stdout, stderr to our log."""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from contextlib import suppress

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from mcp_bridge.errors import ChildGone, ChildStartError
from mcp_bridge.jsonrpc import Message, dumps

logger = logging.getLogger("mcp_bridge.child")
# A server's stderr goes to our log at up to this many lines a second (after a burst of STDERR_BURST_LINES); the rest
# is read and counted, never logged: a server that floods stderr must not make the bridge spend its CPU, and the
# disk, on logging it. The pipe is always drained, so the server never blocks on a full one.
STDERR_LINES_PER_SECOND = 100.0
STDERR_BURST_LINES = 1000

MessageHandler = Callable[[Message], Awaitable[None]]


class ChildProcess:
    """A started stdio server. `run` pumps its output until it exits; `stop` ends its whole process group."""

    def __init__(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: str | None,
        label: str,
        max_message_bytes: int,
    ) -> None:
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.label = label
        self.max_message_bytes = max_message_bytes
        self.exited = anyio.Event()
        self.returncode: int | None = None
        self._process: anyio.abc.Process | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        try:
            self._process = await anyio.open_process(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # its own process group, so stop() reaches grandchildren (npx -> node)
            )
        except (OSError, ValueError) as exc:
            raise ChildStartError(f"cannot start {self.argv[0]!r}: {exc}") from exc
        logger.info("server process started", extra={"session": self.label, "pid": self._process.pid})

    async def run(self, on_message: MessageHandler) -> None:
        """Read messages until the process closes stdout, then wait for it to exit."""
        process = self._require()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._pump_stderr)
                await self._pump_stdout(on_message)
                with anyio.move_on_after(5):
                    self.returncode = await process.wait()
                tg.cancel_scope.cancel()
        finally:
            if self.returncode is None:
                await self._kill_group(signal.SIGKILL)
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    self.returncode = await process.wait()
            self.exited.set()
            level = logging.INFO if self._stopping else logging.WARNING
            logger.log(level, "server process exited", extra={"session": self.label, "returncode": self.returncode})

    async def send(self, message: Message | bytes) -> None:
        process = self._require()
        if self.exited.is_set() or process.stdin is None:
            raise ChildGone(self.label)
        data = message if isinstance(message, bytes) else dumps(message)
        try:
            # No lock: the write itself is synchronous (so messages never interleave) and concurrent drains are safe.
            await process.stdin.send(data + b"\n")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, BrokenPipeError, ConnectionResetError) as exc:
            raise ChildGone(self.label) from exc

    async def stop(self, grace: float = 3.0) -> None:
        """Close stdin (the polite stdio shutdown), then SIGTERM and finally SIGKILL the process group."""
        self._stopping = True
        process = self._process
        if process is None or self.exited.is_set():
            return
        with anyio.CancelScope(shield=True):
            if process.stdin is not None:
                with suppress(Exception):
                    await process.stdin.aclose()
            with anyio.move_on_after(grace / 2):
                await self.exited.wait()
                return
            await self._kill_group(signal.SIGTERM)
            with anyio.move_on_after(grace / 2):
                await self.exited.wait()
                return
            await self._kill_group(signal.SIGKILL)
            with anyio.move_on_after(2):
                await self.exited.wait()

    async def _kill_group(self, sig: signal.Signals) -> None:
        if self._process is None:
            return
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)

    async def _pump_stdout(self, on_message: MessageHandler) -> None:
        process = self._require()
        assert process.stdout is not None
        reader = BufferedByteReceiveStream(process.stdout)
        while True:
            try:
                line = await reader.receive_until(b"\n", self.max_message_bytes)
            except anyio.IncompleteRead:
                return
            except anyio.DelimiterNotFound:
                logger.error(
                    "server wrote a message larger than the limit; stopping it",
                    extra={"session": self.label, "limit": self.max_message_bytes},
                )
                return
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                return
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                # Servers that print banners on stdout exist; keep the line, do not die on it.
                logger.warning(
                    "server wrote a non-JSON line on stdout", extra={"session": self.label, "line": _cut(line)}
                )
                continue
            if isinstance(message, dict):
                await on_message(message)
            elif isinstance(message, list):  # a batch (2025-03-26 allowed them)
                for item in message:
                    if isinstance(item, dict):
                        await on_message(item)

    async def _pump_stderr(self) -> None:
        process = self._require()
        if process.stderr is None:
            return
        reader = BufferedByteReceiveStream(process.stderr)
        budget = LineBudget(STDERR_LINES_PER_SECOND, STDERR_BURST_LINES)
        while True:
            try:
                line = await reader.receive_until(b"\n", 64 * 1024)
            except anyio.DelimiterNotFound:
                line = await reader.receive_exactly(64 * 1024)
            except (anyio.EndOfStream, anyio.IncompleteRead, anyio.ClosedResourceError, anyio.BrokenResourceError):
                break
            if not budget.take(anyio.current_time()):
                continue
            if budget.dropped:
                logger.warning(
                    "server stderr: lines dropped", extra={"session": self.label, "dropped": budget.take_dropped()}
                )
            logger.info("server stderr", extra={"session": self.label, "line": _cut(line)})
        if budget.dropped:
            logger.warning(
                "server stderr: lines dropped", extra={"session": self.label, "dropped": budget.take_dropped()}
            )

    def _require(self) -> anyio.abc.Process:
        if self._process is None:
            raise ChildGone(self.label)
        return self._process


class LineBudget:
    """A token bucket of lines: `rate` a second, up to `burst` saved; counts what it refuses."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.at: float | None = None
        self.dropped = 0

    def take(self, now: float) -> bool:
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False

    def take_dropped(self) -> int:
        dropped, self.dropped = self.dropped, 0
        return dropped


def _cut(line: bytes, limit: int = 4096) -> str:
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    return text if len(text) <= limit else text[:limit] + "..."
