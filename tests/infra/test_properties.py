"""Properties over random valid adapters: render never fails, names are valid and never collide."""

from __future__ import annotations

import re

from adapter_strategies import adapter_names, adapter_specs
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp_infra.names import AdapterNames
from mcp_infra.render import render_adapter
from mcp_infra.spec import AdapterSpec

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
AZURE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _kubernetes_names(spec: AdapterSpec) -> set[tuple[str, str]]:
    return {(r.kind, r.name) for r in render_adapter(spec) if r.is_kubernetes}


@settings(max_examples=150, deadline=None)
@given(spec=adapter_specs())
def test_render_never_fails_and_every_name_is_valid(spec: AdapterSpec) -> None:
    rendered = render_adapter(spec)
    keys = [r.key for r in rendered.resources]
    assert len(keys) == len(set(keys))
    for resource in (r for r in rendered if r.is_kubernetes):
        assert SUBDOMAIN.match(resource.name), resource.name
        assert len(resource.name) <= 253
        if resource.kind in ("Service", "StatefulSet"):
            assert LABEL.match(resource.name), resource.name
            assert len(resource.name) <= 63, resource.name
        for value in resource.inputs["metadata"]["labels"].values():
            assert LABEL_VALUE.match(value), value
            assert len(value) <= 63, value
    statefulset = rendered.get("StatefulSet")
    assert len(statefulset.name) <= 52  # leaves room for controller-revision-hash and pod ordinals
    for resource in (r for r in rendered if not r.is_kubernetes):
        assert AZURE_NAME.match(resource.name) or resource.kind == "RoleAssignment", resource.name
    for reference in (d for r in rendered.resources for d in r.depends_on):
        assert reference in keys, f"depends on {reference}, which is not rendered"


@settings(max_examples=150, deadline=None)
@given(a=adapter_names, b=adapter_names)
def test_two_different_adapters_never_share_an_object(a: str, b: str) -> None:
    if a == b:
        return
    first = AdapterSpec(name=a, image_name="mcp-proxy", image_version="1", replica_count=2, use_workload_identity=True)
    second = first.model_copy(update={"name": b})
    assert not _kubernetes_names(first) & _kubernetes_names(second)
    assert AdapterNames.of(a).identity != AdapterNames.of(b).identity


@settings(max_examples=60, deadline=None)
@given(
    stem=adapter_names.filter(lambda n: len(n) <= 40), suffix=st.sampled_from(["-peers", "-svc", "-sa", "-env", "-0"])
)
def test_names_that_extend_another_adapter_name_never_collide(stem: str, suffix: str) -> None:
    first = AdapterSpec(name=stem, image_name="mcp-proxy", image_version="1")
    second = first.model_copy(update={"name": stem + suffix})
    assert not _kubernetes_names(first) & _kubernetes_names(second)
