"""The sign-in routes answer what the OpenAPI document says: schemathesis with every response check on.

Forward auth (`/adapters/{name}/verify`, `/auth/verify`) answers 200 with no body and the caller in
headers, 401 with a challenge, 404; the RFC 9728 metadata routes answer their document or 404. Both
in development mode (where 200s happen) and with Entra ID configured (where 401s do).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from mcp_adapters.api.main import create_app
from mcp_adapters.settings import Settings

from tests.service.conftest import everything_spec
from tests.service.identity_provider import AUDIENCE, ISSUER
from tests.service.test_auth import TRUSTED

ROUTES = r"^(/adapters/\{name\}/verify|/auth/verify|/\.well-known/oauth-protected-resource.*)$"


def _app(**values: Any) -> FastAPI:
    state = Path(tempfile.mkdtemp(prefix="mcp-adapters-contract-"))
    return create_app(Settings(state_dir=state, poll_seconds=3600, **values))


# Without the lifespan: the routes read the store, and nothing needs the reconciler running.
_DEVELOPMENT = _app()
assert TestClient(_DEVELOPMENT).post("/adapters", json=everything_spec("present")).status_code == 201
# The JWKS is never fetched: these callers send no token.
_ENTRA = _app(
    entra_issuers=[ISSUER],
    entra_audiences=[AUDIENCE],
    entra_jwks_url="http://127.0.0.1:9/keys",
    trusted_servers=TRUSTED,
)
development = schemathesis.openapi.from_asgi("/openapi.json", _DEVELOPMENT)
entra = schemathesis.openapi.from_asgi("/openapi.json", _ENTRA)
pytestmark = pytest.mark.filterwarnings("ignore")


@development.include(path_regex=ROUTES).parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_development_mode_answers_as_documented(case: Any) -> None:
    case.call_and_validate()


@entra.include(path_regex=ROUTES).parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_entra_mode_answers_as_documented(case: Any) -> None:
    response = case.call()
    case.validate_response(response)
    if case.path.endswith("verify") and case.method == "GET":  # (schemathesis also tries other methods: 405)
        assert response.status_code in (401, 422), response.text
        if response.status_code == 401:
            assert "resource_metadata=" in response.headers["www-authenticate"][0]


@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        ("/adapters/{name}/verify", {"path_parameters": {"name": "present"}}),
        ("/auth/verify", {"query": {"adapter": "present"}}),
    ],
)
def test_a_permitted_caller_gets_200_with_no_body(path: str, parameters: dict[str, Any]) -> None:
    case = development[path]["GET"].Case(**parameters)
    response = case.call()
    case.validate_response(response)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["x-mcp-userid"] == ["dev"]
    assert response.headers["x-mcp-roles"] == ["mcp.admin"]
