"""Prometheus metrics of the control plane (`GET /metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "mcp_adapters_http_requests_total",
    "API requests by route and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "mcp_adapters_http_request_seconds",
    "API request latency (until headers) by route.",
    ["method", "route"],
    registry=REGISTRY,
)
OPERATIONS = Counter(
    "mcp_adapters_operations_total",
    "Reconciler operations by kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
PERMANENT_REFUSALS_RECHECKED = Counter(
    "mcp_adapters_permanent_refusals_rechecked_total",
    "Resyncs of an adapter the target cannot honour that found nothing changed (no operation recorded).",
    registry=REGISTRY,
)
OPERATION_SECONDS = Histogram(
    "mcp_adapters_operation_seconds", "Time spent in target operations.", ["kind"], registry=REGISTRY
)
ADAPTERS = Gauge("mcp_adapters_adapters", "Adapters by phase.", ["phase"], registry=REGISTRY)
DATAPLANE_REQUESTS = Counter(
    "mcp_adapters_dataplane_requests_total",
    "MCP requests relayed to adapters.",
    ["method", "status"],
    registry=REGISTRY,
)
DATAPLANE_ERRORS = Counter(
    "mcp_adapters_dataplane_errors_total", "MCP requests that never reached a replica.", ["reason"], registry=REGISTRY
)
