"""Everything one running service holds, built from the settings and shared by routes and the reconciler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine

from mcp_adapters.auth.dev import DevAuthenticator
from mcp_adapters.auth.entra import EntraAuthenticator
from mcp_adapters.auth.identity import Authenticator
from mcp_adapters.auth.permissions import Permissions
from mcp_adapters.dataplane.access import AdapterAccess
from mcp_adapters.dataplane.router import ReplicaRouter
from mcp_adapters.db.engine import (
    UNAVAILABLE,
    forget_replaced,
    make_engine,
    migrate,
    sessions,
    sqlite_files,
    why_unavailable,
)
from mcp_adapters.errors import ConfigurationError
from mcp_adapters.reconciler import Reconciler
from mcp_adapters.settings import Settings
from mcp_adapters.store import AdapterStore
from mcp_adapters.targets import make_target
from mcp_adapters.targets.base import Target
from mcp_adapters.vault import Vault

logger = logging.getLogger("mcp_adapters")
# Threads of the loop's default executor, where `asyncio.to_thread` runs the database calls of the API and the
# reconciler, and the targets' blocking work: asyncio's own default, min(32, cpus + 4), would queue requests behind a
# few slow calls on a small machine. anyio's worker threads, which ran these calls before, were as many.
WORKER_THREADS = 40


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    store: AdapterStore
    target: Target
    reconciler: Reconciler
    auth: Authenticator
    permissions: Permissions
    router: ReplicaRouter
    access: AdapterAccess
    upstream: httpx.AsyncClient
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, target: Target | None = None) -> Runtime:
        """Check the settings, migrate the database and wire the parts; raises ConfigurationError.

        `target` replaces the one the settings name (tests pass one wired to test doubles)."""
        settings.check()
        writable(settings.state_dir)
        make_private(settings)
        engine = make_engine(settings.sqlalchemy_url)
        try:
            migrate(engine)
        except UNAVAILABLE as exc:
            raise ConfigurationError(f"cannot open the database: {why_unavailable(exc, detail=True)}") from None
        vault = Vault.from_settings(
            settings.secret_key.get_secret_value() if settings.secret_key else None, settings.state_dir
        )
        store = AdapterStore(sessions(engine), vault)
        if resealed := store.reseal():
            logger.warning(
                "sealed the values now considered secret of %d adapter(s) stored before: %s",
                len(resealed),
                ", ".join(resealed),
            )
            if not forget_replaced(engine):
                logger.warning("a reader kept SQLite from dropping the replaced pages now: its next checkpoint will")
        target = target or make_target(settings)
        auth: Authenticator = (
            DevAuthenticator(settings.dev_default_user, settings.dev_default_roles)
            if settings.dev_mode
            else EntraAuthenticator(settings)
        )
        timeout = httpx.Timeout(
            connect=settings.upstream_connect_timeout, read=settings.upstream_read_timeout, write=30, pool=30
        )
        return cls(
            settings=settings,
            engine=engine,
            store=store,
            target=target,
            reconciler=Reconciler(settings, store, target),
            auth=auth,
            permissions=Permissions(settings.admin_role, settings.workload_identity_roles),
            router=ReplicaRouter(target),
            access=AdapterAccess(store),
            upstream=httpx.AsyncClient(timeout=timeout, trust_env=False, limits=httpx.Limits(max_connections=1000)),
        )

    async def start(self) -> None:
        executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="mcp-adapters")
        asyncio.get_running_loop().set_default_executor(executor)  # shut down by the loop when it closes
        await self.target.start()
        self._task = asyncio.create_task(self.reconciler.run())
        logger.info(
            "mcp-adapters ready: target=%s auth=%s database=%s",
            self.target.name,
            self.auth.mode,
            self.engine.url.render_as_string(hide_password=True),
        )

    @property
    def reconciling(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        await self.reconciler.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.target.close()
        await self.upstream.aclose()
        await self.auth.aclose()
        self.engine.dispose()


def writable(state_dir: Path) -> None:
    """The state directory exists and takes writes (the database, keys, replicas' files), or a ConfigurationError
    that names it: found at start, not as the first request's failure."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=state_dir):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"the state directory {state_dir} cannot be written ({(exc.strerror or str(exc)).lower()}): make it "
            "writable (with free space), or point MCP_ADAPTERS_STATE_DIR elsewhere"
        ) from None


def make_private(settings: Settings) -> None:
    """The state directory and everything in it are the service user's alone: 0700 directories, 0600 files.

    The umask covers what this process and its children create from now on (the database and the `-wal`/`-shm`
    files SQLite gives the database's mode, keys, pid and log files); what an earlier run left readable is
    tightened here, with a log line, so it cannot stay so unnoticed."""
    os.umask(0o077)
    paths = [*_tree(settings.state_dir), *sqlite_files(settings.sqlalchemy_url)]
    tightened = [path for path in paths if _drop_group_and_other(path)]
    if tightened:
        logger.warning(
            "made %d file(s) and directories private to this user (group or others could read them), e.g. %s",
            len(tightened),
            tightened[0],
        )


def _tree(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    found = [root]
    for directory, subdirectories, files in os.walk(root):  # symbolic links are not followed
        found += [Path(directory, name) for name in (*subdirectories, *files)]
    return found


def _drop_group_and_other(path: Path) -> bool:
    try:
        status = path.lstat()
        mode = stat.S_IMODE(status.st_mode)
        if stat.S_ISLNK(status.st_mode) or not mode & 0o077:
            return False
        path.chmod(mode & 0o700)  # the owner's bits stay: an executable (a Pulumi plugin) stays executable
    except FileNotFoundError:  # gone since the walk saw it
        return False
    except PermissionError:
        logger.warning("cannot make %s private: it belongs to another user; make it this user's or remove it", path)
        return False
    return True
