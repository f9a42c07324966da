"""The few facts about JSON-RPC messages the bridge needs to route them without understanding them."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any, Final


def _sdk_versions() -> ModuleType:
    """The SDK's protocol-version registry (`mcp_types.version`, plain tuples of strings) without importing the
    `mcp_types` package, whose `__init__` builds every protocol model: that was a sixth of the CPU each bridge
    spent starting, for two tuples. Imported the usual way if the module is not a file next to the package."""
    package = importlib.util.find_spec("mcp_types")
    locations = package.submodule_search_locations if package is not None else None
    spec = importlib.util.spec_from_file_location(
        "mcp_bridge._sdk_versions", f"{next(iter(locations))}/version.py" if locations else ""
    )
    if spec is None or spec.loader is None or not locations:
        import mcp_types.version

        return mcp_types.version
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_VERSIONS = _sdk_versions()
HANDSHAKE_PROTOCOL_VERSIONS: Final[tuple[str, ...]] = _VERSIONS.HANDSHAKE_PROTOCOL_VERSIONS
MODERN_PROTOCOL_VERSIONS: Final[tuple[str, ...]] = _VERSIONS.MODERN_PROTOCOL_VERSIONS

Message = dict[str, Any]

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
HEADER_MISMATCH: Final = -32020
MISSING_REQUIRED_CLIENT_CAPABILITY: Final = -32021
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022
# Implementation-defined server errors (-32000 .. -32099) used by the bridge itself.
SERVER_UNAVAILABLE: Final = -32001
REQUEST_TIMEOUT: Final = -32002
SESSION_LIMIT: Final = -32003
NOT_TRANSLATABLE: Final = -32004

PROTOCOL_VERSION_KEY: Final = "io.modelcontextprotocol/protocolVersion"
CLIENT_INFO_KEY: Final = "io.modelcontextprotocol/clientInfo"
CLIENT_CAPABILITIES_KEY: Final = "io.modelcontextprotocol/clientCapabilities"
LOG_LEVEL_KEY: Final = "io.modelcontextprotocol/logLevel"
SERVER_INFO_KEY: Final = "io.modelcontextprotocol/serverInfo"
SUBSCRIPTION_ID_KEY: Final = "io.modelcontextprotocol/subscriptionId"
ENVELOPE_KEYS: Final = (PROTOCOL_VERSION_KEY, CLIENT_INFO_KEY, CLIENT_CAPABILITIES_KEY, LOG_LEVEL_KEY)

MODERN_VERSIONS: Final = tuple(MODERN_PROTOCOL_VERSIONS)
HANDSHAKE_VERSIONS: Final = tuple(HANDSHAKE_PROTOCOL_VERSIONS)
LATEST_MODERN: Final = MODERN_VERSIONS[-1]
LATEST_HANDSHAKE: Final = HANDSHAKE_VERSIONS[-1]
# The first revision without JSON-RPC batches (2025-03-26 allowed them; versions are dates, so they sort).
FIRST_WITHOUT_BATCHING: Final = "2025-06-18"

# The HTTP status a modern (2026-07-28) error reply travels with; everything else is 200.
ERROR_HTTP_STATUS: Final = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    MISSING_REQUIRED_CLIENT_CAPABILITY: 400,
    UNSUPPORTED_PROTOCOL_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}


def is_request(msg: Message) -> bool:
    return "method" in msg and "id" in msg


def is_response(msg: Message) -> bool:
    return "method" not in msg and "id" in msg and ("result" in msg or "error" in msg)


def is_message(value: object) -> bool:
    """Shape check of one JSON-RPC 2.0 message (request, notification or response)."""
    if not isinstance(value, dict) or value.get("jsonrpc") != "2.0":
        return False
    if "method" in value:
        ok_params = "params" not in value or isinstance(value["params"], dict | list)
        return isinstance(value["method"], str) and ok_params and _valid_id(value.get("id", 0))
    return "id" in value and ("result" in value) != ("error" in value)


def _valid_id(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def error(request_id: Any, code: int, message: str, data: Any = None) -> Message:
    err: Message = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": err}


def result(request_id: Any, value: Message) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


def notification(method: str, params: Message | None = None) -> Message:
    msg: Message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def as_object(value: object) -> dict[str, Any]:
    """A JSON object as itself; anything else (absent, null, a list, a scalar) as an empty one.

    How the bridge reads the optional members it routes by, in messages it otherwise passes on untouched.
    """
    return value if isinstance(value, dict) else {}


def meta(msg: Message) -> dict[str, Any]:
    """The message's `params._meta` (empty when it has none)."""
    return as_object(as_object(msg.get("params")).get("_meta"))


def envelope_version(msg: Message) -> str | None:
    """The protocol version a 2026-07-28-era request carries in its `_meta`, if any."""
    found = meta(msg).get(PROTOCOL_VERSION_KEY)
    return found if isinstance(found, str) else None


def progress_token(msg: Message) -> Any:
    return meta(msg).get("progressToken")


def batching_allowed(version: str | None) -> bool:
    """Whether a session that agreed on `version` may send batches (a server that named no version: yes)."""
    return version is None or version < FIRST_WITHOUT_BATCHING


def load_body(body: bytes) -> tuple[list[Any], bool]:
    """The values in a POST body (a batch, or one) and whether it was a batch; ValueError if it is not JSON.

    The values are not checked to be messages: callers decide what to do with those that are not.
    """
    try:
        parsed = json.loads(body)
    except RecursionError:  # nesting deeper than the parser goes
        raise ValueError("the JSON is nested too deeply") from None
    batch = isinstance(parsed, list)
    return (parsed if batch else [parsed]), batch


def dumps(msg: Message) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()


def id_key(request_id: Any) -> tuple[str, Any]:
    # JSON-RPC ids 1 and "1" are different requests.
    return (type(request_id).__name__, request_id)
