"""The text `mcp-adapters render` prints: what would be deployed, for a human review."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

import yaml

from mcp_infra.resources import RenderedAdapter, RenderedResource
from mcp_infra.settings import PlatformSettings
from mcp_infra.spec import AdapterSpec

if TYPE_CHECKING:
    from collections.abc import Iterable


def document(resource: RenderedResource) -> dict[str, Any]:
    """A Kubernetes object as its manifest; anything else as its type, name and inputs.

    Deploy-time values print as `${resource.output}`, secret values as `<redacted>`.
    """
    if resource.is_kubernetes:
        manifest: dict[str, Any] = resource.plain_inputs()
        return manifest
    doc: dict[str, Any] = {"type": resource.type, "name": resource.name, "inputs": resource.plain_inputs()}
    if resource.depends_on:
        doc["dependsOn"] = list(resource.depends_on)
    return doc


# libyaml's emitter when PyYAML has it (its wheels do): the same safe dumper, much faster than the pure-Python
# one, which was most of the time a large render took.
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def documents(rendered: Iterable[RenderedAdapter]) -> list[dict[str, Any]]:
    return [document(resource) for adapter in rendered for resource in adapter.resources]


def render_documents(
    specs: list[AdapterSpec],
    settings: PlatformSettings | None = None,
    output: Literal["yaml", "json"] = "yaml",
) -> str:
    from mcp_infra.render import render_all  # the package imports this module

    rendered = render_all(specs, settings)
    if output == "json":
        return json.dumps(documents(rendered), indent=2) + "\n"
    parts = []
    for adapter in rendered:
        header = f"# adapter {adapter.adapter}: {adapter.endpoint_url}\n"
        body = yaml.dump_all(
            documents([adapter]), Dumper=_DUMPER, sort_keys=False, explicit_start=True, width=120, allow_unicode=False
        )
        parts.append(header + body)
    return "".join(parts)
