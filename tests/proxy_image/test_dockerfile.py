"""What can be checked of proxy-image/Dockerfile without a container engine (CI builds and runs it)."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from mcp_bridge.app import create_app
from mcp_bridge.settings import BridgeSettings

from tests.conftest import ROOT
from tests.dockerfiles import Instruction, build_args, final, final_env, parse, sources_missing_from_context

DOCKERFILE = ROOT / "proxy-image" / "Dockerfile"
PYPROJECT = ROOT / "proxy-image" / "pyproject.toml"


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE)


def test_every_instruction_is_known(instructions: list[Instruction]) -> None:
    known = {"ARG", "FROM", "COPY", "RUN", "ENV", "WORKDIR", "USER", "EXPOSE", "HEALTHCHECK"}
    known |= {"STOPSIGNAL", "ENTRYPOINT", "CMD", "LABEL", "VOLUME"}
    assert {i.keyword for i in instructions} <= known
    assert instructions[0].keyword in ("ARG", "FROM")


def test_multi_stage_with_a_slim_runtime(instructions: list[Instruction]) -> None:
    froms = [i.value for i in instructions if i.keyword == "FROM"]
    assert len(froms) >= 3
    assert froms[-1].endswith("AS runtime")
    assert "slim" in build_args(instructions)["PYTHON_IMAGE"]


def test_the_entry_point_is_the_installed_console_script(instructions: list[Instruction]) -> None:
    scripts = tomllib.loads(PYPROJECT.read_text())["project"]["scripts"]
    (entrypoint,) = final(instructions, "ENTRYPOINT")
    command = json.loads(entrypoint)  # exec form, so SIGTERM reaches mcp-bridge itself
    assert command == ["mcp-bridge"]
    assert command[0] in scripts
    assert scripts[command[0]] == "mcp_bridge.__main__:main"
    assert any("PATH=/opt/venv/bin:$PATH" in env for env in final(instructions, "ENV"))


def test_it_runs_as_a_fixed_non_root_uid(instructions: list[Instruction]) -> None:
    users = final(instructions, "USER")
    assert users, "the runtime stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit()
    assert int(uid) >= 1000
    assert gid.isdigit()
    assert int(gid) != 0


def test_the_healthcheck_probes_a_route_the_app_serves(instructions: list[Instruction]) -> None:
    (check,) = final(instructions, "HEALTHCHECK")
    assert "CMD [" in check  # exec form: works without a shell
    path = re.search(r"/healthz", check)
    assert path is not None
    app = create_app(BridgeSettings(command="true", host="127.0.0.1"), environ={})
    assert path.group(0) in {getattr(route, "path", None) for route in app.routes}


def test_stopsignal_is_the_one_the_bridge_drains_on(instructions: list[Instruction]) -> None:
    assert final(instructions, "STOPSIGNAL") == ["SIGTERM"]
    main = (ROOT / "proxy-image" / "src" / "mcp_bridge" / "__main__.py").read_text()
    assert "start_draining" in main


def test_node_npx_uv_and_uvx_are_in_the_image(instructions: list[Instruction]) -> None:
    copies = " ".join(final(instructions, "COPY"))
    runs = " ".join(final(instructions, "RUN"))
    assert "/usr/local/bin/node" in copies
    assert "/uv /uvx" in copies
    assert "/usr/local/bin/npx" in runs
    assert "/usr/local/bin/npm" in runs


def test_everything_written_at_run_time_lives_under_one_cache_volume(instructions: list[Instruction]) -> None:
    settings = final_env(instructions)
    volume = json.loads(final(instructions, "VOLUME")[0])
    assert volume == ["/cache"]
    for name in ("HOME", "NPM_CONFIG_CACHE", "UV_CACHE_DIR", "UV_TOOL_DIR", "XDG_CACHE_HOME"):
        assert settings[name].startswith("/cache/"), name
    assert "chown -R ${UID}:${UID} /cache" in " ".join(final(instructions, "RUN"))


def test_copied_sources_exist_in_the_build_context_the_repository_root(instructions: list[Instruction]) -> None:
    assert sources_missing_from_context(instructions, ROOT / "proxy-image" / "Dockerfile.dockerignore") == []
