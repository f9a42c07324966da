"""Everything one running service holds, built from the settings and shared by routes and the reconciler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from mcp_adapters.auth.dev import DevAuthenticator
from mcp_adapters.auth.entra import EntraAuthenticator
from mcp_adapters.auth.identity import Authenticator
from mcp_adapters.auth.permissions import Permissions
from mcp_adapters.dataplane.router import ReplicaRouter
from mcp_adapters.db.engine import make_engine, migrate, sessions
from mcp_adapters.reconciler import Reconciler
from mcp_adapters.settings import Settings
from mcp_adapters.store import AdapterStore
from mcp_adapters.targets import make_target
from mcp_adapters.targets.base import Target
from mcp_adapters.vault import Vault

logger = logging.getLogger("mcp_adapters")


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
    upstream: httpx.AsyncClient
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, target: Target | None = None) -> Runtime:
        """Check the settings, migrate the database and wire the parts; raises ConfigurationError.

        `target` replaces the one the settings name (tests pass one wired to test doubles)."""
        settings.check()
        if settings.database_url is None:
            settings.state_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.sqlalchemy_url)
        migrate(engine)
        vault = Vault.from_settings(
            settings.secret_key.get_secret_value() if settings.secret_key else None, settings.state_dir
        )
        store = AdapterStore(sessions(engine), vault)
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
            upstream=httpx.AsyncClient(timeout=timeout, trust_env=False, limits=httpx.Limits(max_connections=1000)),
        )

    async def start(self) -> None:
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
