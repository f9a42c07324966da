"""The stack's inline program under Pulumi mocks: exactly infra's render, with the service's platform settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from mcp_adapters.platform import platform_settings
from mcp_adapters.settings import Settings
from mcp_adapters.targets.kubernetes._program import adapter_program
from mcp_infra.adapters_file import load_adapters
from mcp_infra.names import ADAPTER_TYPE_TOKEN
from mcp_infra.render import render_adapter
from mcp_infra.spec import AdapterSpec

from tests.conftest import ROOT
from tests.infra.pulumi_mocks import Recorder, RecordingMonitor

EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example(request: pytest.FixtureRequest) -> AdapterSpec:
    return load_adapters(request.param)[0]


@pytest.fixture(autouse=True)
def event_loop_for_pulumi() -> Iterator[None]:
    # `pulumi.runtime.test` runs on the thread's current loop; async tests before this one may have closed it.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


def run(program: Any) -> Recorder:
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, preview=False, monitor=RecordingMonitor(recorder))
    pulumi.runtime.test(program)()
    return recorder


def test_the_program_deploys_exactly_the_render_of_the_service_settings(example: AdapterSpec, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, azure_location="westeurope", azure_subscription_id="0000")
    platform = platform_settings(settings)
    recorder = run(adapter_program(example, platform))

    rendered = render_adapter(example, platform)
    registered = [
        (r.type, r.name) for r in recorder.resources if r.type not in ("pulumi:pulumi:Stack", ADAPTER_TYPE_TOKEN)
    ]
    assert sorted(registered) == sorted((r.type, r.name) for r in rendered.resources)
    (component,) = [r for r in recorder.resources if r.type == ADAPTER_TYPE_TOKEN]
    assert component.name == example.name


def test_kubernetes_objects_do_not_block_the_update_on_rollout(example: AdapterSpec, tmp_path: Path) -> None:
    # The reconciler watches readiness itself; `pulumi up` must return once the objects are applied.
    recorder = run(adapter_program(example, platform_settings(Settings(state_dir=tmp_path))))
    statefulset = recorder.one("StatefulSet")
    assert statefulset.inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


def test_azure_settings_of_the_service_reach_the_identity(tmp_path: Path) -> None:
    spec = AdapterSpec.model_validate(
        {
            "name": "with-identity",
            "imageName": "mcp-proxy",
            "imageVersion": "1.0.0",
            "environmentVariables": {"MCP_PROXY_URL": "https://example.com/mcp", "MCP_PROXY_SCOPE": "api://x/.default"},
            "useWorkloadIdentity": True,
        }
    )
    settings = Settings(state_dir=tmp_path, azure_location="westeurope", azure_resource_group="rg-team")
    recorder = run(adapter_program(spec, platform_settings(settings)))
    identity = recorder.one("UserAssignedIdentity")
    assert identity.inputs["location"] == "westeurope"
    assert identity.inputs["resourceGroupName"] == "rg-team"
