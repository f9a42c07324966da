"""Property values as the engine sends them over gRPC, and back.

The provider tells the engine it accepts neither secrets nor resource references
(as the real azure-native provider does), so values arrive plain: the engine
strips secrets before the call and marks the outputs of secret inputs secret
again itself. `plain` still unwraps both, in case an engine sends them anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for a value not known yet (preview)
_SIGNATURE = "4dabf18193072939515e22adb298388d"
_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_REFERENCE = "5cf8f73096256a8f31e491e813e4eb8e"


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """The properties, plain, without nulls (the real provider unmarshals with SkipNulls)."""
    values = json_format.MessageToDict(struct)
    return {key: plain(value) for key, value in values.items() if value is not None}


def to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update({key: value for key, value in values.items() if value is not None})
    return struct


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        signature = value.get(_SIGNATURE)
        if signature == _SECRET:
            return plain(value.get("value"))
        if signature == _RESOURCE_REFERENCE:
            return value.get("id") or value.get("urn")
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def is_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(is_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(is_unknown(item) for item in value)
    return bool(value == UNKNOWN)


def describe(value: Any) -> str:
    """How the real provider names a value's JSON type in its Check failures ("got a number")."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string"
