"""What can be checked of service/Dockerfile (the control plane image) without a container engine."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from mcp_adapters.targets.kubernetes._cli import MIN_CLI_VERSION
from mcp_infra.platform.config import ControlPlaneConfig
from mcp_infra.platform.control_plane import DATA_DIR
from semver import VersionInfo

from tests.conftest import ROOT
from tests.dockerfiles import Instruction, build_args, final, final_env, parse, sources_missing_from_context

DOCKERFILE = ROOT / "service" / "Dockerfile"


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE)


def test_the_pulumi_cli_matches_the_locked_automation_sdk(instructions: list[Instruction]) -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (sdk,) = [p["version"] for p in lock["package"] if p["name"] == "pulumi"]
    cli = build_args(instructions)["PULUMI_VERSION"]
    assert cli == sdk
    assert VersionInfo.parse(cli) >= MIN_CLI_VERSION
    assert "/opt/pulumi" in final_env(instructions)["PATH"].split(":")


def test_the_entry_point_is_the_service_console_script(instructions: list[Instruction]) -> None:
    scripts = tomllib.loads((ROOT / "service" / "pyproject.toml").read_text())["project"]["scripts"]
    (entrypoint,) = final(instructions, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["mcp-adapters"]
    assert scripts["mcp-adapters"] == "mcp_adapters.cli:app"
    assert json.loads(final(instructions, "CMD")[0])[0] == "serve"


def test_it_runs_as_a_fixed_non_root_uid_with_state_where_the_platform_mounts_it(
    instructions: list[Instruction],
) -> None:
    uid, _, gid = final(instructions, "USER")[-1].partition(":")
    assert int(uid) >= 1000
    assert int(gid) != 0
    env = final_env(instructions)
    assert env["MCP_ADAPTERS_STATE_DIR"] == DATA_DIR  # the control plane Deployment's volume
    assert env["MCP_ADAPTERS_PULUMI_HOME"].startswith(DATA_DIR + "/")
    assert json.loads(final(instructions, "VOLUME")[0]) == [DATA_DIR]
    assert ControlPlaneConfig().image_name == "mcp-adapters"


def test_the_healthcheck_probes_a_route_the_service_serves(instructions: list[Instruction]) -> None:
    from mcp_adapters.api.routes import health

    (check,) = final(instructions, "HEALTHCHECK")
    assert "CMD [" in check
    path = re.search(r"/healthz", check)
    assert path is not None
    assert path.group(0) in {getattr(route, "path", None) for route in health.router.routes}
    assert final(instructions, "STOPSIGNAL") == ["SIGTERM"]


def test_copied_sources_exist_and_are_in_the_build_context(instructions: list[Instruction]) -> None:
    assert sources_missing_from_context(instructions, ROOT / "service" / "Dockerfile.dockerignore") == []
