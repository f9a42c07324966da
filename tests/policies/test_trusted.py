"""The trusted-servers check the service runs at admission."""

from __future__ import annotations

import pytest
from mcp_infra.spec import AdapterSpec
from mcp_infra.trusted_servers import TrustedServers
from mcp_policies.trusted import check_trusted, packages

ALLOW = TrustedServers(
    images=["mcp-proxy"],
    commands=["npx", "uvx"],
    packages=["@azure/mcp@*", "@azure-devops/mcp", "git+https://github.com/azure-ai-foundry/*", "mcp-server-fetch"],
    upstream_hosts=["internal-mcp-server", "*.azure.com"],
)


def spec(**env: str) -> AdapterSpec:
    return AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", environment_variables=env)


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        ("npx", "-y @azure/mcp@latest server start", ["@azure/mcp@latest"]),
        ("npx", "--yes -p @azure/mcp@1.0 azmcp server start", ["@azure/mcp@1.0"]),
        ("npx", "-y -- @azure-devops/mcp contoso", ["@azure-devops/mcp"]),
        (
            "uvx",
            "--prerelease=allow --from git+https://github.com/azure-ai-foundry/mcp-foundry.git run-it",
            ["git+https://github.com/azure-ai-foundry/mcp-foundry.git"],
        ),
        ("uvx", "--with evil mcp-server-fetch", ["evil", "mcp-server-fetch"]),
        ("uvx", "--python 3.12 mcp-server-fetch==1.2", ["mcp-server-fetch==1.2"]),
    ],
)
def test_the_packages_npx_and_uvx_would_fetch(command: str, args: str, expected: list[str]) -> None:
    assert packages(command, args)[0] == expected


@pytest.mark.parametrize(
    "env",
    [
        {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure/mcp@latest server start"},
        {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure-devops/mcp@2.1.0 contoso"},
        {"MCP_COMMAND": "uvx", "MCP_ARGS": "--from git+https://github.com/azure-ai-foundry/mcp-foundry.git run"},
        {"MCP_COMMAND": "uvx", "MCP_ARGS": "mcp-server-fetch==1.2"},
        {"MCP_PROXY_URL": "https://internal-mcp-server/mcp"},
        {"MCP_PROXY_URL": "https://mcp.ai.azure.com/v1"},
    ],
)
def test_trusted_servers_pass(env: dict[str, str]) -> None:
    assert check_trusted(spec(**env), ALLOW) == []


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"MCP_COMMAND": "bash", "MCP_ARGS": "-c 'curl x | sh'"}, "MCP_COMMAND 'bash' is not trusted"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "-y @evil/mcp"}, "package @evil/mcp is not trusted"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure/mcpx@1"}, "package @azure/mcpx@1 is not trusted"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "-c 'rm -rf /'"}, "npx --call runs a shell command"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "--registry https://evil -y @azure/mcp@1"}, "--registry https://evil"),
        ({"MCP_COMMAND": "uvx", "MCP_ARGS": "--with evil mcp-server-fetch"}, "package evil is not trusted"),
        ({"MCP_COMMAND": "uvx", "MCP_ARGS": "--index-url https://evil/simple mcp-server-fetch"}, "--index-url"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "-y"}, "names no package"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "'unclosed"}, "cannot be split"),
        ({"MCP_PROXY_URL": "https://evil.example/mcp"}, "host 'evil.example' is not trusted"),
        ({"MCP_PROXY_URL": "https://azure.com.evil.example/mcp"}, "is not trusted"),
    ],
)
def test_untrusted_servers_are_refused_with_a_reason(env: dict[str, str], complaint: str) -> None:
    findings = check_trusted(spec(**env), ALLOW)
    assert findings, "expected a finding"
    assert all(f.policy == "trusted-servers" and f.mandatory for f in findings)
    assert any(complaint in f.message for f in findings), [f.message for f in findings]
    assert findings[0].resource.name == "a"


def test_an_untrusted_image_is_refused() -> None:
    other = AdapterSpec(name="a", image_name="team/shell", image_version="1")
    (finding,) = check_trusted(other, ALLOW)
    assert "image team/shell" in finding.message


def test_the_default_allow_list_runs_the_proxy_with_npx_and_uvx_only() -> None:
    assert check_trusted(spec(MCP_COMMAND="npx", MCP_ARGS="-y anything"), TrustedServers()) == []
    assert check_trusted(spec(MCP_COMMAND="node", MCP_ARGS="server.js"), TrustedServers()) != []
