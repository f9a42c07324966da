"""Faithful translations between the handshake era (2024-11-05 .. 2025-11-25) and 2026-07-28.

Only what carries the same meaning in both eras is translated: the handshake
result and the discover result describe the same server; the per-request
envelope carries what `initialize` carried once per session. Everything else
is refused with a clear error by the caller.
"""

from __future__ import annotations

import copy
from typing import Any

from mcp_bridge import __version__
from mcp_bridge.jsonrpc import (
    CLIENT_CAPABILITIES_KEY,
    CLIENT_INFO_KEY,
    ENVELOPE_KEYS,
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE,
    LATEST_MODERN,
    MODERN_VERSIONS,
    PROTOCOL_VERSION_KEY,
    SERVER_INFO_KEY,
    Message,
    as_object,
)

BRIDGE_INFO: dict[str, Any] = {"name": "mcp-bridge", "version": __version__}


def strip_envelope(msg: Message) -> Message:
    """A 2026-07-28 request as a handshake-era server expects it: without the envelope keys in `_meta`."""
    params = msg.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("_meta"), dict):
        return msg
    meta = {k: v for k, v in params["_meta"].items() if k not in ENVELOPE_KEYS}
    new_params = {k: v for k, v in params.items() if k != "_meta"}
    if meta:
        new_params["_meta"] = meta
    return {**msg, "params": new_params}


def add_envelope(msg: Message, client_info: Any, capabilities: Any, version: str = LATEST_MODERN) -> Message:
    """A handshake-era request as a 2026-07-28 server expects it: carrying what `initialize` said."""
    new_params = dict(as_object(msg.get("params")))
    meta = dict(new_params.get("_meta") or {})
    meta[PROTOCOL_VERSION_KEY] = version
    meta[CLIENT_CAPABILITIES_KEY] = as_object(capabilities)
    if client_info is not None:
        meta[CLIENT_INFO_KEY] = client_info
    new_params["_meta"] = meta
    return {**msg, "params": new_params}


def modern_envelope_request(request_id: Any, method: str, params: Message | None = None) -> Message:
    """A request the bridge itself sends to a 2026-07-28 server."""
    body = dict(params or {})
    body["_meta"] = {
        PROTOCOL_VERSION_KEY: LATEST_MODERN,
        CLIENT_CAPABILITIES_KEY: {},
        CLIENT_INFO_KEY: BRIDGE_INFO,
    }
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": body}


def initialize_request(request_id: Any, version: str = LATEST_HANDSHAKE) -> Message:
    """The handshake the bridge performs on a handshake-era server it shares among stateless clients."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": BRIDGE_INFO},
    }


def discover_from_initialize(init_result: Message) -> Message:
    """What a handshake-era server said about itself, as a 2026-07-28 `server/discover` result."""
    result: Message = {
        "resultType": "complete",
        "supportedVersions": list(MODERN_VERSIONS),
        "capabilities": _modern_capabilities(init_result.get("capabilities")),
        "cacheScope": "public",
        "ttlMs": 0,
    }
    if init_result.get("instructions") is not None:
        result["instructions"] = init_result["instructions"]
    if isinstance(init_result.get("serverInfo"), dict):
        result["_meta"] = {SERVER_INFO_KEY: init_result["serverInfo"]}
    return result


def initialize_from_discover(discover: Message, requested_version: Any) -> Message:
    """What a 2026-07-28 server said about itself, as the answer to a handshake-era `initialize`."""
    version = requested_version if requested_version in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE
    server_info = as_object(discover.get("_meta")).get(SERVER_INFO_KEY)
    result: Message = {
        "protocolVersion": version,
        "capabilities": copy.deepcopy(discover.get("capabilities") or {}),
        "serverInfo": server_info if isinstance(server_info, dict) else {"name": "mcp-server", "version": "unknown"},
    }
    if discover.get("instructions") is not None:
        result["instructions"] = discover["instructions"]
    return result


def _modern_capabilities(capabilities: Any) -> Message:
    caps = copy.deepcopy(as_object(capabilities))
    # Resource subscriptions are a session feature the bridge cannot carry across eras.
    if isinstance(caps.get("resources"), dict):
        caps["resources"].pop("subscribe", None)
    return caps


# Results that 2026-07-28 clients may cache; they must say for whom and how long.
CACHEABLE_METHODS = frozenset(
    {"tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read", "server/discover"}
)


def as_modern_result(msg: Message, method: str) -> Message:
    """A handshake-era server's reply as 2026-07-28 shapes it.

    Its results are always complete; a cacheable one is marked private with no
    lifetime, the most conservative claim the bridge can make for a server that
    said nothing about caching.
    """
    res = msg.get("result")
    if not isinstance(res, dict):
        return msg
    extra: Message = {}
    if "resultType" not in res:
        extra["resultType"] = "complete"
    if method in CACHEABLE_METHODS:
        if "cacheScope" not in res:
            extra["cacheScope"] = "private"
        if "ttlMs" not in res:
            extra["ttlMs"] = 0
    return {**msg, "result": {**res, **extra}} if extra else msg
