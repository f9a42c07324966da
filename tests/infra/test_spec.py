"""The adapter spec refuses what an adapter must not decide for itself."""

from __future__ import annotations

import pytest
from mcp_infra.spec import AdapterSpec
from pydantic import ValidationError


def test_an_adapter_cannot_switch_off_the_proxy_egress_protection() -> None:
    with pytest.raises(ValidationError, match="MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL cannot be set by an adapter"):
        AdapterSpec.model_validate(
            {
                "name": "sneaky",
                "imageName": "mcp-proxy",
                "imageVersion": "1.0.0",
                "environmentVariables": {
                    "MCP_PROXY_URL": "http://169.254.169.254/metadata",
                    "MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL": "true",
                },
            }
        )


def test_private_upstreams_stay_an_adapter_choice() -> None:
    spec = AdapterSpec.model_validate(
        {
            "name": "internal",
            "imageName": "mcp-proxy",
            "imageVersion": "1.0.0",
            "environmentVariables": {
                "MCP_PROXY_URL": "http://10.0.0.5/mcp",
                "MCP_BRIDGE_UPSTREAM_ALLOW_PRIVATE": "true",
            },
        }
    )
    assert spec.mode == "forward"
