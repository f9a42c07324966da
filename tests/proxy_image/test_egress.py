"""Forward mode refuses, at startup, upstreams inside the node or the cluster unless explicitly allowed."""

from __future__ import annotations

import os
import subprocess

import pytest
from mcp_bridge.egress import check_upstream
from mcp_bridge.errors import SettingsError

from tests.conftest import VENV_BIN, free_port


def fixed(*addresses: str):  # type: ignore[no-untyped-def]
    def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolver


def check(url: str, *addresses: str, local: bool = False, private: bool = False, **environ: str) -> object:
    return check_upstream(
        url, allow_local=local, allow_private=private, environ=environ, resolver=fixed(*(addresses or ("20.1.2.3",)))
    )


@pytest.mark.parametrize("url", ["ftp://example.com/mcp", "file:///etc/passwd", "example.com/mcp", "http:///mcp"])
def test_only_http_and_https_urls_with_a_host(url: str) -> None:
    with pytest.raises(SettingsError, match="http:// or https://"):
        check(url)


def test_a_public_upstream_is_accepted_with_its_resolved_addresses() -> None:
    upstream = check("https://mcp.example.com/mcp", "20.1.2.3", "2603:1030::1")
    assert upstream.host == "mcp.example.com"
    assert upstream.port == 443


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://127.0.0.1:8080/mcp", ()),
        ("http://[::1]/mcp", ()),
        ("http://localhost/mcp", ()),
        ("http://169.254.169.254/latest", ()),
        ("http://[fd00:ec2::254]/", ()),
        ("http://0.0.0.0/", ()),
        ("http://rebind.example.com/mcp", ("20.1.2.3", "127.0.0.2")),  # one bad address is enough
        ("http://[::ffff:127.0.0.1]/mcp", ()),
        ("http://metadata.google.internal/", ()),
        ("https://kubernetes.default.svc/api", ()),
        ("https://kubernetes.default.svc.cluster.local/api", ()),
    ],
)
def test_node_local_metadata_and_cluster_api_need_the_explicit_setting(url: str, addresses: tuple[str, ...]) -> None:
    with pytest.raises(SettingsError, match="MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL"):
        check(url, *addresses)
    check(url, *addresses, local=True, private=True)


def test_the_cluster_api_by_its_service_address_is_refused() -> None:
    with pytest.raises(SettingsError, match="cluster's API server"):
        check("https://api.example.com/", "10.0.0.1", private=True, KUBERNETES_SERVICE_HOST="10.0.0.1")


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.9", "192.168.1.1", "fd12::1", "100.64.0.1"])
def test_private_ranges_need_their_own_setting(address: str) -> None:
    with pytest.raises(SettingsError, match="MCP_BRIDGE_UPSTREAM_ALLOW_PRIVATE"):
        check("http://internal-mcp-server/mcp", address)
    check("http://internal-mcp-server/mcp", address, private=True)
    with pytest.raises(SettingsError):  # allowing private ranges does not allow loopback
        check("http://internal-mcp-server/mcp", "127.0.0.1", private=True)


def test_an_unresolvable_host_is_a_startup_error() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(SettingsError, match="does not resolve"):
        check_upstream(
            "https://nowhere.invalid/mcp", allow_local=False, allow_private=False, environ={}, resolver=nowhere
        )


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(SettingsError, match="must not carry credentials"):
        check("https://user:secret@mcp.example.com/mcp")


def test_mcp_bridge_refuses_a_loopback_upstream_at_startup_with_a_clear_message() -> None:
    env = {
        **os.environ,
        "MCP_PROXY_URL": "http://127.0.0.1:9/mcp",
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
    }
    env.pop("MCP_COMMAND", None)
    done = subprocess.run([str(VENV_BIN / "mcp-bridge")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refusing MCP_PROXY_URL" in done.stderr
    assert "MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL=true" in done.stderr
