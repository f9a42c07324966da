"""What can be checked of service/Dockerfile (the control plane image) without a container engine."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

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
    assert json.loads(entrypoint)[-1] == "mcp-adapters"
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


def stage(instructions: list[Instruction], name: str) -> list[Instruction]:
    (number,) = {i.stage for i in instructions if i.keyword == "FROM" and i.value.endswith(f" AS {name}")}
    return [i for i in instructions if i.stage == number]


def test_tini_is_pid_1_and_hands_signals_to_the_service_alone(instructions: list[Instruction]) -> None:
    # PID 1 inherits the provider plugins of a killed CLI: tini reaps them (the service as PID 1 would not).
    (entrypoint,) = final(instructions, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["tini", "--", "mcp-adapters"]  # no -g: SIGTERM must not reach the CLIs first
    assert any(re.search(r"apt-get install .*\btini\b", run) for run in final(instructions, "RUN"))


def test_the_provider_plugins_are_baked_in_at_the_locked_versions(instructions: list[Instruction]) -> None:
    from mcp_adapters.targets.kubernetes._cli import PLUGINS
    from mcp_adapters.targets.kubernetes._plugins import plugin_dir_name

    lock = {p["name"]: p["version"] for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    args = build_args(instructions)
    installs = " ".join(i.value for i in stage(instructions, "pulumi") if i.keyword == "RUN")
    home = re.search(r"PULUMI_HOME=(\S+) /opt/pulumi/pulumi plugin install", installs)
    assert home is not None
    for plugin, package in PLUGINS.items():
        arg = f"PULUMI_{plugin.upper().replace('-', '_')}_VERSION"
        assert args[arg] == lock[package], f"{arg} is not the {package} in uv.lock"
        assert f"plugin install resource {plugin} v${{{arg}}}" in installs
        assert plugin_dir_name(plugin, lock[package]) == f"resource-{plugin}-v{lock[package]}"  # the CLI's layout
    copies = [c.split() for c in final(instructions, "COPY") if c.startswith("--from=pulumi ")]
    (bundle,) = [destination for _, source, destination in copies if source == f"{home[1]}/plugins"]
    assert final_env(instructions)["MCP_ADAPTERS_PULUMI_PLUGINS_DIR"] == bundle
    assert not final_env(instructions)["MCP_ADAPTERS_PULUMI_HOME"].startswith(bundle), "PULUMI_HOME stays writable"


def test_the_policy_pack_runs_on_what_the_image_holds(
    instructions: list[Instruction], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import yaml
    from mcp_adapters.settings import policy_pack_problem

    pack = final_env(instructions)["MCP_ADAPTERS_PULUMI_POLICY_PACKS"]
    copies = [c.split() for c in final(instructions, "COPY") if "--from=" not in c]
    shipped = {destination: source for source, destination in copies if destination.startswith(pack + "/")}
    assert set(shipped.values()) == {"policies/__main__.py", "service/policy-pack/PulumiPolicy.yaml"}
    # The image's file system, as far as the pack goes: its files, and the environment the build stage made.
    root = tmp_path / "image"
    for destination, source in shipped.items():
        (root / destination.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / source, root / destination.lstrip("/"))
    build_env = " ".join(i.value for i in stage(instructions, "build") if i.keyword == "ENV")
    environment = re.search(r"UV_PROJECT_ENVIRONMENT=(\S+)", build_env)
    assert environment is not None
    (root / environment[1].lstrip("/") / "bin").mkdir(parents=True)
    (root / environment[1].lstrip("/") / "bin" / "python").write_text("")
    monkeypatch.setenv("PATH", str(tmp_path / "no-uv-here"))
    assert policy_pack_problem(root / pack.lstrip("/")) is None
    assert policy_pack_problem(ROOT / "policies") is not None, "the repository's pack needs uv and ../.venv"
    image_pack = yaml.safe_load((ROOT / "service" / "policy-pack" / "PulumiPolicy.yaml").read_text())
    repository_pack = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert {**image_pack, "runtime": None} == {**repository_pack, "runtime": None}, "the same pack, another runtime"
