"""The official conformance suite, per spec version: every scenario that passes against the
everything server directly (SDK streamable HTTP) also passes through `mcp-bridge` fronting it over
stdio, and through `mcp-bridge` in forward mode in front of that same HTTP server."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.conformance

SPEC_VERSIONS = ("2025-11-25", "2026-07-28")


@pytest.mark.parametrize("spec_version", SPEC_VERSIONS)
def test_direct_baseline(conformance: Any, spec_version: str) -> None:
    direct = conformance.run(spec_version, "direct")
    listed = set(conformance.scenarios[spec_version])
    assert listed, "the suite lists no server scenarios"
    # The baseline must mean something: the fixtures are there, so nearly everything passes directly.
    passing = {name for name, result in direct.items() if result.passed}
    assert len(passing) >= 0.9 * len(listed), {name: r.failures for name, r in direct.items() if not r.passed}


@pytest.mark.parametrize("spec_version", SPEC_VERSIONS)
@pytest.mark.parametrize("proxy", ["bridge", "forward"])
def test_the_proxy_passes_what_passes_directly(conformance: Any, proxy: str, spec_version: str) -> None:
    """`bridge`: mcp-bridge over stdio; `forward`: mcp-bridge forwarding to the same server's own streamable HTTP."""
    direct = conformance.run(spec_version, "direct")
    through = conformance.run(spec_version, proxy)  # fails (not skips) while the proxy cannot start
    regressions = {
        name: through[name].failures if name in through else (f"no result through {proxy}",)
        for name, result in direct.items()
        if result.passed and not (name in through and through[name].passed)
    }
    assert not regressions, regressions
