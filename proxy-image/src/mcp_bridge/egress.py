"""Where forward mode may send traffic: the upstream is checked once, at startup, before anything listens.

A forwarding proxy that carries a workload-identity token is a tempting SSRF
target, so the upstream must be http(s), and addresses inside the node or the
cluster need an explicit opt-in: loopback, link-local (which holds the cloud
metadata services), the metadata addresses and the Kubernetes API need
`MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL`; private ranges need
`MCP_BRIDGE_UPSTREAM_ALLOW_PRIVATE`. An IPv6 address that carries an IPv4
address to its destination (mapped, translated, IPv4-compatible, NAT64, 6to4,
Teredo) counts as the most restricted of itself and what it carries. Redirects are never followed (the client
gets the 3xx as-is), so a redirect cannot lead past this check either.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from mcp_bridge.errors import SettingsError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
Verdict = Literal["public", "private", "local"]

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_SEVERITY: dict[Verdict, int] = {"public": 0, "private": 1, "local": 2}
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated, RFC 4291 2.5.5.1
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: operators choose the prefix length within it
# Where RFC 6052 puts the IPv4 address for each prefix length (octet 8, bits 64-71, is always skipped).
_NAT64_OCTETS = {48: (6, 7, 9, 10), 56: (7, 9, 10, 11), 64: (9, 10, 11, 12), 96: (12, 13, 14, 15)}
_LOCAL_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "metadata.azure.internal"})
_CLUSTER_API_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc")


@dataclass(frozen=True)
class Upstream:
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address can deliver to (one per possible reading), or none."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # the relay server and the client behind it
    if address in _NAT64_LOCAL:
        return [ipaddress.IPv4Address(bytes(address.packed[i] for i in octets)) for octets in _NAT64_OCTETS.values()]
    if address in _IPV4_TRANSLATED or address in _IPV4_COMPATIBLE or address in _NAT64_WELL_KNOWN:
        return [ipaddress.IPv4Address(address.packed[12:])]
    return []


def classify_address(address: Address) -> Verdict:
    own = _classify_own(address)
    if isinstance(address, ipaddress.IPv4Address):
        return own
    return max([own, *map(_classify_own, embedded_ipv4(address))], key=_SEVERITY.__getitem__)


def _classify_own(address: Address) -> Verdict:
    if (
        address in METADATA_ADDRESSES
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
    ):
        return "local"
    if address.is_private or address in ipaddress.ip_network("100.64.0.0/10"):
        return "private"
    return "public"


def _is_cluster_api_name(host: str) -> bool:
    return host in _CLUSTER_API_NAMES or host.startswith("kubernetes.default.svc.")


def check_upstream(
    url: str,
    *,
    allow_local: bool,
    allow_private: bool,
    environ: Mapping[str, str],
    resolver: Resolver = resolve,
) -> Upstream:
    """The upstream, if forward mode may use it; otherwise a SettingsError that says why and what to set."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"MCP_PROXY_URL must be an http:// or https:// URL with a host, not {url!r}")
    if parts.username or parts.password:
        raise SettingsError("MCP_PROXY_URL must not carry credentials; use MCP_PROXY_SCOPE for workload identity")
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise SettingsError(f"MCP_PROXY_URL has an invalid port: {exc}") from None
    cluster_api = {environ.get("KUBERNETES_SERVICE_HOST", "").strip().lower()} - {""}
    if host in _LOCAL_NAMES or _is_cluster_api_name(host) or host in cluster_api:
        what = "the cluster's API server" if host not in _LOCAL_NAMES else "a node-local address"
        _refuse_local(url, f"{host} is {what}", allow_local)
        addresses: list[str] = []
    else:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = resolver(host, port)
            except OSError as exc:
                raise SettingsError(
                    f"MCP_PROXY_URL host {host!r} does not resolve ({exc}); the upstream is checked at startup"
                ) from None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        verdict = classify_address(address)
        if text in cluster_api:
            _refuse_local(url, f"{text} is the cluster's API server (KUBERNETES_SERVICE_HOST)", allow_local)
        elif verdict == "local":
            _refuse_local(url, f"{host} resolves to {text}, a loopback, link-local or metadata address", allow_local)
        elif verdict == "private" and not allow_private:
            raise SettingsError(
                f"refusing MCP_PROXY_URL {url!r}: {host} resolves to the private address {text}; "
                "set MCP_BRIDGE_UPSTREAM_ALLOW_PRIVATE=true if the upstream really lives on a private network"
            )
    return Upstream(url=url, host=host, port=port, addresses=tuple(addresses))


def _refuse_local(url: str, why: str, allowed: bool) -> None:
    if not allowed:
        raise SettingsError(
            f"refusing MCP_PROXY_URL {url!r}: {why}; forwarding there (with this pod's identity) is refused "
            "unless MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL=true"
        )
