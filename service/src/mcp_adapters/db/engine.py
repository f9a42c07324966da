"""The engine for SQLite (default) or PostgreSQL, and migrations run under a lock at start."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, exc, make_url, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant: replicas starting together take turns migrating.
_MIGRATION_LOCK = 0x6D6370
# An execution option: the transactions of `readers()` only read.
READ_ONLY = "mcp_adapters_read_only"
_HOLDS_WRITER = "mcp_adapters_holds_writer"
WRITER_WAIT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 5


class DatabaseBusy(Exception):
    """No write turn on SQLite within `WRITER_WAIT_SECONDS`."""


# What a request or the reconciler meets while the database is away, full or read-only: worth a retry later,
# never a 500.
UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
    exc.DisconnectionError,
    DatabaseBusy,
)


def why_unavailable(error: BaseException, *, detail: bool = False) -> str:
    """What to say about an `UNAVAILABLE` error: the kind of trouble, never the SQL or its parameters (which may
    hold sealed values); with `detail` (for the service's log, not for callers) the driver's first line too, which
    may name the database's host and port."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = lines[0] if lines else ""
    lowered = first.lower()
    if "disk is full" in lowered or "no space" in lowered:
        return "the disk holding the database is full: free space there; nothing was written"
    if "readonly" in lowered or "read-only" in lowered:
        return "the database is read-only: make the state directory writable; nothing was written"
    if isinstance(error, DatabaseBusy):
        return "the database is busy with other writes; nothing was written"
    return (
        f"the database does not answer ({first[:200] or type(error).__name__})"
        if detail
        else ("the database does not answer")
    )


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # As many connections as the API and the reconciler have worker threads: none waits for a connection.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=20
        )
        _sqlite_transactions(engine)
        return engine
    # A server that stops answering fails a request within seconds (libpq would wait for ever), and a
    # connection it dropped is replaced at checkout, not handed out.
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def _sqlite_transactions(engine: Engine) -> None:
    """SQLite has one writer. A write transaction takes the write lock when it begins, so no read-then-write
    transaction ever fails to upgrade; and the service's writers queue for it on a lock of their own first, so
    they are served in turn instead of each polling SQLite's lock in its busy handler (which sleeps between tries,
    longer each time: a burst of writes became a burst of sleeps). Readers (`readers()`) take no lock at all: WAL
    gives each a snapshot."""
    writer = threading.Lock()

    def release(info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_WRITER, False):
            writer.release()

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # What a write replaces is zeroed, not left in free pages: a re-sealed secret leaves no clear copy behind.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=WRITER_WAIT_SECONDS):
            raise DatabaseBusy(f"no write turn on the database within {WRITER_WAIT_SECONDS:.0f}s")
        connection.info[_HOLDS_WRITER] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(connection.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(connection: Any) -> None:
        release(connection.info)

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:  # a transaction never ended: do not keep the turn
        release(record.info)


def forget_replaced(engine: Engine) -> bool:
    """Write SQLite's log into the database and empty it, so pages a write replaced are gone from the disk too;
    False when a reader kept it from finishing (the next checkpoint overwrites them).

    PostgreSQL keeps replaced row versions until VACUUM reuses their space: nothing to do from here."""
    if engine.dialect.name != "sqlite":
        return True
    raw = engine.raw_connection()  # outside SQLAlchemy's transaction: a checkpoint cannot run inside one
    try:
        busy = raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]  # type: ignore[union-attr]
    finally:
        raw.close()
    return bool(busy == 0)


def sqlite_files(url: str) -> list[Path]:
    """The files a SQLite URL keeps its data in (the database, its log and shared memory); none for a server."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return []
    database = Path(parsed.database)
    return [database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions for transactions that write (`with sessions.begin()`)."""
    return sessionmaker(engine, expire_on_commit=False)


def readers(writers: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions on the same engine for transactions that only read: on SQLite they wait for no writer."""
    engine = writers.kw["bind"]
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; safe with several replicas)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                connection.commit()
