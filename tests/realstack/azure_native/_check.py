"""`Check` and `Diff` for the resource types: defaults the real provider fills in, and what forces a replacement."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from typing import Any

from pulumi.runtime.proto import provider_pb2

from tests.realstack.azure_native._types import CREATE_BEFORE_DELETE, ResourceType
from tests.realstack.azure_native._values import UNKNOWN, is_unknown

_Mode = provider_pb2.CheckRequest.AutonamingOptions


def autoname(
    kind: ResourceType, request: provider_pb2.CheckRequest, olds: dict[str, Any], inputs: dict[str, Any]
) -> None:
    """Name the resource when the program did not: the old name, the engine's proposal, or the provider's own."""
    key = kind.name_input
    if key in inputs:
        return
    if key in olds:
        inputs[key] = olds[key]
        if CREATE_BEFORE_DELETE in olds:
            inputs[CREATE_BEFORE_DELETE] = olds[CREATE_BEFORE_DELETE]
        return
    mode, proposed = _Mode.PROPOSE, ""
    if request.HasField("autonaming"):
        mode, proposed = request.autonaming.mode, request.autonaming.proposed_name
    if mode == _Mode.DISABLE:
        return  # then Check reports the missing name, as the real provider does
    seed = request.randomSeed or os.urandom(32)
    if mode == _Mode.ENFORCE or (proposed and kind.autoname == "random"):
        inputs[key] = proposed
    elif kind.autoname == "uuid":
        inputs[key] = str(uuid.UUID(bytes=hashlib.sha256(seed).digest()[:16], version=4))
    else:
        inputs[key] = request.urn.split("::")[-1] + hashlib.sha256(seed).hexdigest()[:8]
    # A random name lets a replacement create the new resource before deleting the old one.
    inputs[CREATE_BEFORE_DELETE] = True


def default_location(
    kind: ResourceType,
    olds: dict[str, Any],
    inputs: dict[str, Any],
    configured: str | None,
    group_location: Callable[[str], str | None],
) -> None:
    """The real provider's order: the old location, the configured one, the resource group's."""
    if kind.input("location") is None or "location" in inputs:
        return
    if "location" in olds:
        inputs["location"] = olds["location"]
    elif configured:
        inputs["location"] = configured
    elif is_unknown(inputs.get("resourceGroupName")):
        inputs["location"] = UNKNOWN
    elif "resourceGroupName" in inputs:
        location = group_location(str(inputs["resourceGroupName"]))
        if location is not None:
            inputs["location"] = location


def diff(kind: ResourceType, olds: dict[str, Any], news: dict[str, Any]) -> provider_pb2.DiffResponse:
    """Old inputs against new ones, property by property; an unknown new value counts as a change."""
    detailed: dict[str, provider_pb2.PropertyDiff] = {}
    for key in sorted((set(olds) | set(news)) - {CREATE_BEFORE_DELETE}):
        if key in news and key in olds and olds[key] == news[key] and not is_unknown(news[key]):
            continue
        change = "ADD" if key not in olds else "DELETE" if key not in news else "UPDATE"
        if kind.replaces(key):
            change += "_REPLACE"
        detailed[key] = provider_pb2.PropertyDiff(kind=provider_pb2.PropertyDiff.Kind.Value(change), inputDiff=True)
    replaces = [key for key in detailed if kind.replaces(key)]
    return provider_pb2.DiffResponse(
        changes=provider_pb2.DiffResponse.DIFF_SOME if detailed else provider_pb2.DiffResponse.DIFF_NONE,
        replaces=replaces,
        stables=[],
        # The real provider deletes first unless the name was random: a fixed name cannot exist twice.
        deleteBeforeReplace=bool(replaces) and not olds.get(CREATE_BEFORE_DELETE, False),
        diffs=list(detailed),
        detailedDiff=detailed,
        hasDetailedDiff=True,
    )
