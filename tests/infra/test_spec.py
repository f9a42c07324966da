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


def adapter(**env: str) -> AdapterSpec:
    return AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", environment_variables=env)


@pytest.mark.parametrize(
    ("name", "upper"),
    [
        ("mcp_bridge_upstream_allow_local", "MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL"),
        ("Mcp_Bridge_Allowed_Hosts", "MCP_BRIDGE_ALLOWED_HOSTS"),
        ("mcp_command", "MCP_COMMAND"),
        ("mcp_cwd", "MCP_CWD"),
        ("port", "PORT"),
        ("mcp_adapters_owner", "MCP_ADAPTERS_OWNER"),
    ],
)
def test_another_spelling_of_a_proxy_setting_is_refused(name: str, upper: str) -> None:
    # Refused with or without a trusted-servers list: a case-insensitive reader would take it for the setting.
    with pytest.raises(ValidationError, match=f"{name} is another spelling of {upper}"):
        adapter(MCP_COMMAND="npx", MCP_ARGS="-y @azure/mcp@latest", **{name: "x"})


def test_the_platform_alone_names_the_servers_variables() -> None:
    with pytest.raises(ValidationError, match="MCP_BRIDGE_SERVER_ENV cannot be set by an adapter"):
        adapter(MCP_COMMAND="npx", MCP_BRIDGE_SERVER_ENV="NODE_OPTIONS")
