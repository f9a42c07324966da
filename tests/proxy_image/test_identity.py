"""Workload identity: a token for MCP_PROXY_SCOPE, cached, refreshed before expiry, retried while it propagates."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from azure.core.credentials import AccessToken
from mcp_bridge.app import create_app
from mcp_bridge.errors import TokenUnavailable
from mcp_bridge.identity import TokenProvider, make_credential
from mcp_bridge.settings import BridgeSettings

from tests.proxy_image._forward_upstream import ScriptedUpstream, TokenEndpoint, self_signed, serve

pytestmark = pytest.mark.anyio

SCOPE = "api://internal-mcp/.default"


class FakeCredential:
    """Hands out numbered tokens valid for `lifetime` seconds; fails while `failures` lasts."""

    def __init__(self, lifetime: float = 3600, failures: int = 0) -> None:
        self.lifetime, self.failures, self.calls = lifetime, failures, 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        assert scopes == (SCOPE,)
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("AADSTS70021: No matching federated identity record found")
        return AccessToken(f"token-{self.calls}", int(time.time() + self.lifetime))


def settings(**extra: Any) -> BridgeSettings:
    return BridgeSettings(
        proxy_url="http://127.0.0.1:9/mcp", proxy_scope=SCOPE, token_retry_initial=0.01, token_retry_max=0.05, **extra
    )


async def test_the_token_is_cached_while_fresh() -> None:
    credential = FakeCredential()
    tokens = TokenProvider(SCOPE, settings(), credential)
    assert [await tokens.token() for _ in range(5)] == ["token-1"] * 5
    assert credential.calls == 1


async def test_the_token_is_refreshed_before_it_expires() -> None:
    credential = FakeCredential(lifetime=200)  # inside the 300 s refresh margin: every use refreshes
    tokens = TokenProvider(SCOPE, settings(), credential)
    assert await tokens.token() == "token-1"
    assert await tokens.token() == "token-2"


async def test_a_failed_refresh_keeps_using_the_still_valid_token() -> None:
    credential = FakeCredential(lifetime=200)
    tokens = TokenProvider(SCOPE, settings(), credential)
    assert await tokens.token() == "token-1"
    credential.failures = 1
    assert await tokens.token() == "token-1"
    assert "AADSTS70021" in (tokens.last_error or "")


async def test_no_token_at_all_is_an_error_that_says_why() -> None:
    tokens = TokenProvider(SCOPE, settings(), FakeCredential(failures=1))
    with pytest.raises(TokenUnavailable, match=r"no workload identity token for scope .* RuntimeError: AADSTS70021"):
        await tokens.token()


async def test_the_first_token_is_retried_with_backoff_until_it_works() -> None:
    credential = FakeCredential(failures=3)
    tokens = TokenProvider(SCOPE, settings(), credential)
    with anyio.fail_after(10):
        await tokens.warm_up()
    assert tokens.has_token
    assert credential.calls == 4


def test_the_workload_identity_credential_is_chosen_when_the_webhook_injected_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.identity import DefaultAzureCredential, WorkloadIdentityCredential

    (tmp_path / "token").write_text("sa-token")
    env = {"AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "token"), "AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert isinstance(make_credential(env), WorkloadIdentityCredential)
    assert isinstance(make_credential({}), DefaultAzureCredential)


async def test_forward_mode_sends_a_workload_identity_token_from_a_local_token_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The real WorkloadIdentityCredential against a token endpoint on 127.0.0.1 (https, as azure-identity requires)."""
    certfile, keyfile = self_signed(tmp_path)
    (tmp_path / "sa-token").write_text("projected-service-account-token")
    endpoint = TokenEndpoint("projected-service-account-token", fail_first=1)  # the credential is still propagating
    upstream = ScriptedUpstream()
    caplog.set_level(logging.DEBUG)
    async with serve(endpoint, certfile=certfile, keyfile=keyfile) as authority, serve(upstream) as upstream_base:
        environ = {
            "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "sa-token"),
            "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001",
            "AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000002",
            "AZURE_AUTHORITY_HOST": authority,
            "REQUESTS_CA_BUNDLE": str(certfile),
        }
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        app = create_app(
            BridgeSettings(
                proxy_url=f"{upstream_base}/mcp",
                proxy_scope=SCOPE,
                host="127.0.0.1",
                upstream_allow_local=True,
                token_retry_initial=0.05,
            ),
            environ=environ,
        )
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            with anyio.fail_after(20):
                while (await client.get("/readyz")).status_code != 200:
                    await anyio.sleep(0.05)  # polling a condition, with a deadline
            replies = [
                await client.post(
                    "/mcp", json={"jsonrpc": "2.0", "id": n, "method": "ping"}, headers={"Authorization": "Bearer mine"}
                )
                for n in range(3)
            ]
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert {r.json()["headers"]["authorization"] for r in replies} == {"Bearer token-2"}
    assert len(endpoint.requests) == 2  # one refused while propagating, then one token, cached
    assert endpoint.requests[-1]["scope"] == [SCOPE]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "token-2" not in logged
