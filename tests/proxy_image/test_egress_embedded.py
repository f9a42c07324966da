"""IPv6 addresses that carry an IPv4 address to its destination are judged by the address they carry."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from mcp_bridge.egress import check_upstream
from mcp_bridge.errors import SettingsError


def teredo(server: str, client: str) -> str:
    """RFC 4380: 2001:0::/32, the relay server's address, flags and port, then the client's address inverted."""
    inverted = int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF
    return str(ipaddress.IPv6Address((0x20010000 << 96) | (int(ipaddress.IPv4Address(server)) << 64) | inverted))


def sixtofour(v4: str) -> str:
    """RFC 3056: 2002:<IPv4>::/48."""
    return str(ipaddress.IPv6Address((0x2002 << 112) | (int(ipaddress.IPv4Address(v4)) << 80) | 1))


def nat64_local_48(v4: str) -> str:
    """RFC 6052 with a /48 prefix: the IPv4 address's first half in bits 48-63, then the zero u-octet, then the rest."""
    packed = ipaddress.IPv4Address(v4).packed
    return str(ipaddress.IPv6Address(bytes([0, 0x64, 0xFF, 0x9B, 0, 1, *packed[:2], 0, *packed[2:], 0, 0, 0, 0, 0])))


EMBEDDINGS: dict[str, Callable[[str], str]] = {
    "NAT64 well-known prefix": lambda v4: f"64:ff9b::{v4}",
    "NAT64 local-use prefix, /96": lambda v4: f"64:ff9b:1::{v4}",
    "NAT64 local-use prefix, /48": nat64_local_48,
    "6to4": sixtofour,
    "IPv4-compatible": lambda v4: f"::{v4}",
    "IPv4-mapped": lambda v4: f"::ffff:{v4}",
    "IPv4-translated": lambda v4: f"::ffff:0:{v4}",
    "Teredo client": lambda v4: teredo("20.1.2.3", v4),
    "Teredo server": lambda v4: teredo(v4, "20.1.2.3"),
}
FORBIDDEN = {"loopback": "127.0.0.1", "metadata": "169.254.169.254", "unspecified": "0.0.0.0"}


def cases() -> list[object]:
    return [
        pytest.param(embed(v4), id=f"{form}-{what}")
        for form, embed in EMBEDDINGS.items()
        for what, v4 in FORBIDDEN.items()
    ]


@pytest.mark.parametrize("address", cases())
def test_an_embedded_loopback_or_metadata_address_is_refused(address: str) -> None:
    literal = f"http://[{address}]:8080/mcp"
    with pytest.raises(SettingsError, match="MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL"):
        check_upstream(literal, allow_local=False, allow_private=True, environ={})
    # A name that resolves there (DNS64 answers names with NAT64 addresses) is refused the same way.
    with pytest.raises(SettingsError, match="MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL"):
        check_upstream(
            "https://mcp.example.com/mcp",
            allow_local=False,
            allow_private=True,
            environ={},
            resolver=lambda host, port: [address],
        )


@pytest.mark.parametrize("form", ["NAT64 well-known prefix", "6to4", "IPv4-mapped"])
def test_an_embedded_private_address_needs_the_private_setting(form: str) -> None:
    url = f"http://[{EMBEDDINGS[form]('10.1.2.3')}]/mcp"
    with pytest.raises(SettingsError, match="MCP_BRIDGE_UPSTREAM_ALLOW_PRIVATE"):
        check_upstream(url, allow_local=False, allow_private=False, environ={})
    check_upstream(url, allow_local=False, allow_private=True, environ={})


@pytest.mark.parametrize("form", ["NAT64 well-known prefix", "6to4", "IPv4-mapped"])
def test_an_embedded_public_address_is_still_a_public_upstream(form: str) -> None:
    upstream = check_upstream(
        f"http://[{EMBEDDINGS[form]('20.1.2.3')}]/mcp", allow_local=False, allow_private=False, environ={}
    )
    assert upstream.port == 80
