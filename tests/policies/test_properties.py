"""The pack passes on everything the render produces for any valid, trusted adapter."""

from __future__ import annotations

from adapter_strategies import adapter_specs
from hypothesis import given, settings
from mcp_infra.render import render_adapter
from mcp_infra.spec import AdapterSpec
from mcp_policies import evaluate


@settings(max_examples=150, deadline=None)
@given(spec=adapter_specs())
def test_the_pack_passes_on_every_render(spec: AdapterSpec) -> None:
    findings = evaluate(render_adapter(spec))
    assert findings == [], [str(f) for f in findings]


@settings(max_examples=40, deadline=None)
@given(first=adapter_specs(), second=adapter_specs())
def test_the_pack_passes_on_two_adapters_deployed_together(first: AdapterSpec, second: AdapterSpec) -> None:
    if first.name == second.name:
        return
    assert evaluate([render_adapter(first), render_adapter(second)]) == []
