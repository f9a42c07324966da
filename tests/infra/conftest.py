from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp_infra.adapters_file import load_adapters
from mcp_infra.spec import AdapterSpec

# Helper modules (mocks, hypothesis strategies) live next to the tests that use them.
sys.path.insert(0, str(Path(__file__).parent))

EXAMPLES = sorted((Path(__file__).parents[2] / "docs" / "examples").glob("*.json"))


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example(request: pytest.FixtureRequest) -> AdapterSpec:
    return load_adapters(request.param)[0]
