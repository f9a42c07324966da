"""Every Kubernetes object we render is valid against the real OpenAPI schemas, strictly."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from adapter_strategies import adapter_specs
from hypothesis import given, settings
from mcp_infra.platform.config import ControlPlaneConfig
from mcp_infra.platform.control_plane import control_plane, namespaces
from mcp_infra.render import render_adapter
from mcp_infra.resources import map_values
from mcp_infra.settings import AzureSettings, PlatformSettings
from mcp_infra.spec import AdapterSpec

KUBERNETES = kubernetes_validate.latest_version()


def validate(manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES, strict=True)


def test_the_schemas_are_a_current_kubernetes() -> None:
    assert tuple(int(p) for p in KUBERNETES.split(".")[:2]) >= (1, 33)


def test_example_objects_are_valid(example: AdapterSpec) -> None:
    for resource in render_adapter(example):
        if resource.is_kubernetes:
            validate(resource.plain_inputs())


def test_the_validator_does_reject_a_broken_object(example: AdapterSpec) -> None:
    manifest = render_adapter(example).get("StatefulSet").plain_inputs()
    manifest["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(manifest)


@pytest.mark.parametrize("database_url", [None, "postgresql://u:p@db/mcp"])
def test_platform_objects_are_valid(database_url: str | None) -> None:
    settings = PlatformSettings(azure=AzureSettings(subscription_id="0000"))
    control = ControlPlaneConfig(env={"MCP_ADAPTERS_PULUMI_BACKEND_URL": "azblob://stacks"})
    for resource in [*namespaces(settings), *control_plane(settings, control, database_url, "stacks-passphrase")]:
        if resource.is_kubernetes:
            validate(resource.plain_inputs())


@settings(max_examples=40, deadline=None)
@given(spec=adapter_specs())
def test_objects_of_any_valid_adapter_are_valid(spec: AdapterSpec) -> None:
    for resource in render_adapter(spec):
        if resource.is_kubernetes:
            validate(map_values(resource.inputs, str))
