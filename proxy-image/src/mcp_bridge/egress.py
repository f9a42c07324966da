"""Where forward mode may send traffic: the upstream is checked once, at startup, before anything listens.

A forwarding proxy that carries a workload-identity token is a tempting SSRF
target, so the upstream must be http(s), and addresses inside the node or the
cluster need an explicit opt-in: loopback, link-local (which holds the cloud
metadata services), the metadata addresses and the Kubernetes API need
`MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL`; private ranges need
`MCP_BRIDGE_UPSTREAM_ALLOW_PRIVATE`. Redirects are never followed (the client
gets the 3xx as-is), so a redirect cannot lead past this check either.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from mcp_bridge.settings import SettingsError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
Verdict = Literal["public", "private", "local"]

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
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


def classify_address(address: Address) -> Verdict:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return classify_address(address.ipv4_mapped)
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
