"""Property-based fuzzing of every route from the OpenAPI document: nothing a client sends yields a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from mcp_adapters.api.main import create_app
from mcp_adapters.settings import Settings

_STATE = Path(__import__("tempfile").mkdtemp(prefix="mcp-adapters-fuzz-"))
_APP = create_app(Settings(state_dir=_STATE, poll_seconds=3600))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


# The app runs without its lifespan here, so /readyz rightly says 503; it takes no input anyway.
# The data plane and log streams are exercised with real processes in test_end_to_end.py.
@schema.exclude(path_regex=r"(.*/mcp|/readyz|.*/logs)$").parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), response.text


pytestmark = pytest.mark.filterwarnings("ignore")
