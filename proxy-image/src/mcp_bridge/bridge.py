"""The bridge: owns the server processes, the sessions and the shared pool; transports call into it."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.abc

from mcp_bridge import jsonrpc as rpc
from mcp_bridge import sessionid
from mcp_bridge.child import ChildProcess
from mcp_bridge.errors import Backoff, ChildStartError, SessionLimit, Unavailable
from mcp_bridge.exchange import Exchange
from mcp_bridge.jsonrpc import Message
from mcp_bridge.metrics import Metrics
from mcp_bridge.pool import Deliver, InFlight, StatelessPool
from mcp_bridge.session import PooledSession, ProcessSession, Session
from mcp_bridge.settings import BridgeSettings, child_environment
from mcp_bridge.translate import modern_envelope_request

logger = logging.getLogger("mcp_bridge")

# How long a tools/list answer is trusted for header validation (then it is read again), and how many pages
# are read at most.
_SCHEMA_TTL = 30.0
_SCHEMA_PAGES = 100
# A session process that exits this soon after starting counts towards the crash-loop backoff.
_QUICK_EXIT = 5.0


class _Relay:
    """The message handler of a running process, pointed at its session once it has one."""

    def __init__(self) -> None:
        self.target: Deliver | None = None
        self.early: list[Message] = []

    async def __call__(self, msg: Message) -> None:
        if self.target is None:
            self.early.append(msg)
        else:
            self.target(msg)

    def attach(self, target: Deliver) -> None:
        self.target = target
        for msg in self.early:
            target(msg)
        self.early.clear()


class Bridge:
    def __init__(self, settings: BridgeSettings, environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.env = child_environment(os.environ if environ is None else environ, settings.server_env)
        self.sessions: dict[str, Session] = {}
        self.draining = False
        self._tg: anyio.abc.TaskGroup | None = None
        self._pool: StatelessPool | None = None
        self._warm: list[tuple[ChildProcess, _Relay, float]] = []
        self._quick_failures = 0
        self._refuse_until = 0.0
        self._counter = 0
        # Set once a session's `initialize` is refused by a server that speaks only 2026-07-28.
        self._no_handshake = False
        self._tool_schemas: dict[str, Any] = {}
        self._tool_schemas_at = -1e9
        self._tool_schemas_lock = anyio.Lock()

    # ---- lifecycle -------------------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            self._pool = StatelessPool(self.settings, self.spawn, self.metrics, tg)
            self._pool.start()
            for _ in range(self.settings.warm_pool):
                tg.start_soon(self._add_warm)
            tg.start_soon(self._sweep_idle)
            task_status.started()

    async def close(self) -> None:
        """End every session and process (by process group); the task group then finishes."""
        self.draining = True
        async with anyio.create_task_group() as tg:
            for session in list(self.sessions.values()):
                tg.start_soon(self.end_session, session.id)
            for child, _, _ in self._warm:
                tg.start_soon(child.stop)
            if self._pool is not None:
                tg.start_soon(self._pool.close)
        self._warm.clear()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    def start_draining(self) -> None:
        """Stop taking new work; standing streams end so in-flight requests can finish."""
        self.draining = True
        for session in self.sessions.values():
            if session.standalone is not None:
                session.standalone.close()

    @property
    def pool(self) -> StatelessPool:
        assert self._pool is not None, "the bridge is not running"
        return self._pool

    @property
    def ready(self) -> bool:
        return not self.draining and self._pool is not None and self._pool.ready.is_set()

    def state(self) -> dict[str, Any]:
        """What `/readyz` reports besides readiness itself."""
        pool = self._pool
        return {
            "era": pool.era if pool else None,
            "sessions": len(self.sessions),
            "poolProcesses": len(pool.children) if pool else 0,
            "draining": self.draining,
            "lastError": pool.last_error if pool else None,
        }

    def in_flight(self) -> int:
        pooled = sum(len(c.calls) for c in self._pool.children) if self._pool else 0
        return pooled + sum(len(s.waiting) for s in self.sessions.values())

    # ---- processes ---------------------------------------------------------------------------

    def spawn(self, label: str) -> ChildProcess:
        return ChildProcess(
            self.settings.argv,
            env=self.env,
            cwd=self.settings.cwd,
            label=label,
            max_message_bytes=self.settings.max_message_bytes,
        )

    async def _start_session_child(self, label: str) -> tuple[ChildProcess, _Relay, float]:
        if self._warm:
            child, relay, started = self._warm.pop(0)
            if not child.exited.is_set():
                assert self._tg is not None
                self._tg.start_soon(self._add_warm)
                return child, relay, started
        child = self.spawn(label)
        try:
            await child.start()
        except ChildStartError as exc:
            raise Unavailable(str(exc)) from exc
        relay = _Relay()
        assert self._tg is not None
        self._tg.start_soon(self._pump, child, relay)
        return child, relay, time.monotonic()

    async def _add_warm(self) -> None:
        if self.draining or len(self._warm) >= self.settings.warm_pool:
            return
        self._counter += 1
        child = self.spawn(f"warm-{self._counter}")
        try:
            await child.start()
        except ChildStartError as exc:
            logger.error("cannot start a warm server process", extra={"error": str(exc)})
            return
        relay = _Relay()
        self._warm.append((child, relay, time.monotonic()))
        self.metrics.children.labels("warm").inc()
        assert self._tg is not None
        self._tg.start_soon(self._pump, child, relay)

    async def _pump(self, child: ChildProcess, relay: _Relay) -> None:
        try:
            await child.run(relay)
        finally:
            if relay.target is None:
                self.metrics.children.labels("warm").dec()
                self._warm = [w for w in self._warm if w[0] is not child]
            for session in list(self.sessions.values()):
                if isinstance(session, ProcessSession) and session.child is child and not session.gone:
                    self._lose_session(session, child.returncode)

    def _lose_session(self, session: ProcessSession, code: int | None) -> None:
        session.gone = True
        self.sessions.pop(session.id, None)
        self.metrics.sessions.set(len(self.sessions))
        self.metrics.children.labels("session").dec()
        self.metrics.restarts.inc()
        session.fail_waiting(
            rpc.SERVER_UNAVAILABLE, f"the MCP server process exited (code {code}); start a new session"
        )
        session.end_streams()
        logger.warning("session lost its server process", extra={"session": session.tag, "returncode": code})

    # ---- sessions ----------------------------------------------------------------------------

    async def open_session(
        self, initialize: Message, *, owner: str | None, single_stream: Exchange | None = None
    ) -> tuple[Session, Message]:
        """Start a handshake-era session for `owner` (the caller's identity); returns it with its `initialize` reply."""
        if self.draining:
            raise Unavailable("the bridge is shutting down")
        if len(self.sessions) >= self.settings.max_sessions:
            raise SessionLimit(
                f"the bridge already serves {self.settings.max_sessions} sessions (MCP_BRIDGE_MAX_SESSIONS)"
            )
        wait = self._refuse_until - time.monotonic()
        if wait > 0:
            raise Backoff(f"the MCP server keeps exiting at start; retry in {wait:.0f}s (see the bridge log)", wait)
        session_id = sessionid.new_session_id(self.settings.replica_id)
        pool = await self._ready_pool()
        use_pool = pool.era == "modern" and (self.settings.session_mode == "pool" or self._no_handshake)
        if not use_pool:
            session, reply = await self._open_process_session(session_id, initialize)
            if reply is None:  # the server speaks only 2026-07-28: serve the session from the pool
                self._no_handshake = True
                use_pool = True
            elif "error" in reply:
                return session, reply  # not kept: the client may retry with another initialize
            else:
                self._register(session, reply, owner, single_stream)
                return session, reply
        pooled = PooledSession(session_id, self.metrics, pool, initialize)
        if pool.discover is None:
            raise Unavailable(pool.last_error or "the MCP server is not running yet")
        reply = rpc.result(initialize.get("id"), pooled.initialize_result())
        self._register(pooled, reply, owner, single_stream)
        return pooled, reply

    def _register(self, session: Session, reply: Message, owner: str | None, single_stream: Exchange | None) -> None:
        version = rpc.as_object(reply.get("result")).get("protocolVersion")
        session.protocol_version = version if isinstance(version, str) else None
        session.owner = owner
        session.single_stream = single_stream
        self.sessions[session.id] = session
        self.metrics.sessions.set(len(self.sessions))

    async def _open_process_session(self, session_id: str, initialize: Message) -> tuple[Session, Message | None]:
        label = sessionid.tag(session_id)
        child, relay, started = await self._start_session_child(label)
        child.label = label
        session = ProcessSession(session_id, self.metrics, child)
        relay.attach(session.route)
        self.metrics.children.labels("session").inc()
        exchange = Exchange([initialize.get("id")], accepts_events=False)
        await session.send(initialize, None, exchange)
        reply: Message | None = None
        with anyio.move_on_after(self.settings.start_timeout):
            async for msg in exchange.receive:
                if rpc.is_response(msg):
                    reply = msg
                    break
        if reply is None or (reply.get("error") or {}).get("code") == rpc.SERVER_UNAVAILABLE:
            await self._discard(session, started)
            raise Unavailable(
                f"the MCP server did not answer initialize within {self.settings.start_timeout:.0f}s"
                if reply is None
                else "the MCP server exited before answering initialize (see the bridge log for its stderr)"
            )
        self._quick_failures = 0
        error = reply.get("error")
        if (
            isinstance(error, dict)
            and error.get("code") == rpc.UNSUPPORTED_PROTOCOL_VERSION
            and self.pool.era == "modern"
        ):
            await self._discard(session, started, failed=False)
            return session, None
        if isinstance(error, dict):
            await self._discard(session, started, failed=False)
        return session, reply

    async def _discard(self, session: ProcessSession, started: float, *, failed: bool = True) -> None:
        session.gone = True
        self.metrics.children.labels("session").dec()
        await session.child.stop()
        if failed and time.monotonic() - started < _QUICK_EXIT + self.settings.start_timeout:
            self._quick_failures += 1
            delay = min(
                self.settings.restart_backoff_initial * 2 ** (self._quick_failures - 1),
                self.settings.restart_backoff_max,
            )
            self._refuse_until = time.monotonic() + delay

    def get_session(self, session_id: str, *, caller: str | None) -> Session | None:
        """The session, if it is open and `caller` opened it; another caller is told exactly what a stranger is."""
        session = self.sessions.get(session_id)
        return None if session is None or session.gone or not session.belongs_to(caller) else session

    async def end_session(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        self.metrics.sessions.set(len(self.sessions))
        if isinstance(session, ProcessSession) and not session.gone:
            self.metrics.children.labels("session").dec()
        await session.close()
        return True

    async def _sweep_idle(self) -> None:
        interval = min(30.0, self.settings.session_idle_timeout / 2)
        while True:
            await anyio.sleep(interval)  # periodic housekeeping
            cutoff = time.monotonic() - self.settings.session_idle_timeout
            for session in list(self.sessions.values()):
                streaming = session.standalone is not None and not session.standalone.closed
                if session.last_active < cutoff and not session.busy and not streaming:
                    logger.info("closing idle session", extra={"session": session.tag})
                    await self.end_session(session.id)

    async def _ready_pool(self) -> StatelessPool:
        """The pool once it knows the server's era; fails at once while the server is failing to start."""
        await self.pool.ensure_ready()
        return self.pool

    async def tool_schema(self, name: str) -> Any:
        """A tool's input schema from the server's own tools/list, or None if it has no such tool.

        The list is trusted for `_SCHEMA_TTL` seconds, then read again (by one caller; the others wait for it).
        """
        if time.monotonic() - self._tool_schemas_at >= _SCHEMA_TTL:
            async with self._tool_schemas_lock:
                if time.monotonic() - self._tool_schemas_at >= _SCHEMA_TTL:
                    self._tool_schemas = await self._list_tool_schemas()
                    self._tool_schemas_at = time.monotonic()
        return self._tool_schemas.get(name)

    async def _list_tool_schemas(self) -> dict[str, Any]:
        pool = await self._ready_pool()
        found: dict[str, Any] = {}
        cursor: Any = None
        for _ in range(_SCHEMA_PAGES):
            child = min(pool.children, key=lambda c: len(c.calls))
            params = {"cursor": cursor} if cursor else None
            reply = await child.ask(modern_envelope_request("tools", "tools/list", params), self.settings.start_timeout)
            page = rpc.as_object(reply.get("result"))
            found.update({t["name"]: t.get("inputSchema") for t in page.get("tools", []) if isinstance(t, dict)})
            cursor = page.get("nextCursor")
            if not isinstance(cursor, str):
                break
        return found

    def background(self, func: Any, *args: Any) -> None:
        assert self._tg is not None
        self._tg.start_soon(func, *args)

    # ---- stateless requests ---------------------------------------------------------------------

    async def stateless(self, msg: Message, deliver: Deliver) -> InFlight | None:
        """Send one 2026-07-28 request to the pool; None when the bridge answered it itself."""
        if self.draining:
            raise Unavailable("the bridge is shutting down")
        pool = await self._ready_pool()
        method = msg.get("method")
        if pool.era == "legacy":
            if method == "server/discover" and pool.discover is not None:
                deliver(rpc.result(msg.get("id"), pool.discover))
                return None
            if method == "subscriptions/listen":
                deliver(
                    _not_translatable(
                        msg,
                        "the server behind speaks only the handshake era, which has no "
                        "subscriptions/listen; use a session (initialize) to receive its notifications",
                    )
                )
                return None
        return await pool.call(msg, deliver)


def _not_translatable(msg: Message, why: str) -> Message:
    return rpc.error(msg.get("id"), rpc.METHOD_NOT_FOUND, why)
