"""Prometheus metrics of one bridge, in a registry of its own (several bridges can live in one test process)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# The `method` label takes these values and `other`: the method comes from the caller (its JSON-RPC body, or the
# Mcp-Method header in forward mode), and a label per made-up name would grow /metrics without bound.
METHODS = frozenset(
    {"initialize", "ping", "server/discover", "tools/list", "tools/call", "resources/list", "resources/read"}
    | {"resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get"}
    | {"completion/complete", "logging/setLevel", "subscriptions/listen", "GET", "POST", "DELETE"}
)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sessions = Gauge("mcp_bridge_sessions", "Open handshake-era sessions.", registry=self.registry)
        self.children = Gauge("mcp_bridge_children", "Running server processes.", ["role"], registry=self.registry)
        self.requests = Counter(
            "mcp_bridge_requests_total",
            "Client requests by method, era and outcome.",
            ["method", "era", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mcp_bridge_request_seconds",
            "Time from a client request to its response.",
            ["method", "era"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.restarts = Counter(
            "mcp_bridge_child_restarts_total",
            "Server processes that exited unexpectedly and were replaced.",
            registry=self.registry,
        )
        self.dropped = Counter(
            "mcp_bridge_dropped_messages_total",
            "Server messages no client stream could take, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.forwarded = Counter(
            "mcp_bridge_peer_forwards_total",
            "Requests forwarded to the replica that owns their session.",
            registry=self.registry,
        )

    def request(self, method: str, era: str, outcome: str, started: float | None = None) -> None:
        """Count one client request (and its latency, from `started`), under a bounded method label."""
        label = method if method in METHODS else "other"
        self.requests.labels(label, era, outcome).inc()
        if started is not None:
            self.latency.labels(label, era).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)
