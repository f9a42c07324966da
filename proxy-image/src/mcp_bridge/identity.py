"""Workload identity for forward mode: one token for `MCP_PROXY_SCOPE`, cached and refreshed before it expires.

On AKS the workload-identity webhook injects `AZURE_FEDERATED_TOKEN_FILE`,
`AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and `AZURE_AUTHORITY_HOST`; then the
credential is `WorkloadIdentityCredential`, otherwise `DefaultAzureCredential`.
The synchronous credentials run in a worker thread (a token is fetched about
once an hour, and they need no extra HTTP stack). Token values are never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import anyio

from mcp_bridge.errors import TokenUnavailable
from mcp_bridge.settings import BridgeSettings

logger = logging.getLogger("mcp_bridge.identity")


class Credential(Protocol):
    """What the bridge needs of an azure-core `TokenCredential`."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


def make_credential(environ: Mapping[str, str]) -> Credential:
    from azure.identity import DefaultAzureCredential, WorkloadIdentityCredential

    # azure-core logs every request and response at INFO; the bridge logs what matters itself.
    logging.getLogger("azure").setLevel(max(logging.WARNING, logging.getLogger("azure").getEffectiveLevel()))
    if environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return WorkloadIdentityCredential()
    return DefaultAzureCredential()


def _describe(exc: BaseException) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line[:300]}"


class TokenProvider:
    def __init__(self, scope: str, settings: BridgeSettings, credential: Credential) -> None:
        self.scope = scope
        self.settings = settings
        self.credential = credential
        self.last_error: str | None = None
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock = anyio.Lock()

    @property
    def has_token(self) -> bool:
        return self._token is not None and time.time() < self._expires_on

    def _fresh(self) -> bool:
        return self._token is not None and time.time() < self._expires_on - self.settings.token_refresh_margin

    async def token(self) -> str:
        """A token valid now: the cached one, refreshed first if it is close to expiry."""
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():
                try:
                    await self._acquire()
                except TokenUnavailable:
                    if not self.has_token:
                        raise
                    logger.warning("token refresh failed; using the cached token until it expires")
            assert self._token is not None
            return self._token

    async def _acquire(self) -> None:
        try:
            access = await anyio.to_thread.run_sync(self.credential.get_token, self.scope, abandon_on_cancel=True)
        except Exception as exc:
            self.last_error = _describe(exc)
            raise TokenUnavailable(f"no workload identity token for scope {self.scope!r}: {self.last_error}") from None
        self._token, self._expires_on = str(access.token), float(access.expires_on)
        self.last_error = None
        logger.info(
            "workload identity token acquired",
            extra={"scope": self.scope, "expires_in": int(self._expires_on - time.time())},
        )

    async def aclose(self) -> None:
        """Close the credential's HTTP session (a kept-alive connection to the token endpoint)."""
        close = getattr(self.credential, "close", None)
        if callable(close):
            await anyio.to_thread.run_sync(close)

    async def warm_up(self) -> None:
        """Get the first token, retrying with backoff: a new federated credential takes minutes to work."""
        delay = self.settings.token_retry_initial
        started = time.monotonic()
        warned = False
        while not self.has_token:
            try:
                await self.token()
                return
            except TokenUnavailable as exc:
                waited = time.monotonic() - started
                if waited > self.settings.token_start_deadline and not warned:
                    warned = True
                    logger.error("still no workload identity token; retrying", extra={"error": str(exc)})
                else:
                    logger.warning("workload identity token not available yet; retrying", extra={"error": str(exc)})
            await anyio.sleep(delay)  # a retry interval, not synchronisation
            delay = min(delay * 2, self.settings.token_retry_max)
