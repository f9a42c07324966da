"""What can be checked of proxy-image/Dockerfile without a container engine (CI builds and runs it)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp_bridge.app import create_app
from mcp_bridge.settings import BridgeSettings

from tests.conftest import ROOT

DOCKERFILE = ROOT / "proxy-image" / "Dockerfile"
PYPROJECT = ROOT / "proxy-image" / "pyproject.toml"


@dataclass
class Instruction:
    keyword: str
    value: str
    stage: int


def parse(path: Path) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped; `stage` counts FROMs."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, value.strip(), stage))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE)


def final(instructions: list[Instruction], keyword: str) -> list[str]:
    last = instructions[-1].stage
    return [i.value for i in instructions if i.keyword == keyword and i.stage == last]


def test_every_instruction_is_known(instructions: list[Instruction]) -> None:
    known = {"ARG", "FROM", "COPY", "RUN", "ENV", "WORKDIR", "USER", "EXPOSE", "HEALTHCHECK"}
    known |= {"STOPSIGNAL", "ENTRYPOINT", "CMD", "LABEL", "VOLUME"}
    assert {i.keyword for i in instructions} <= known
    assert instructions[0].keyword in ("ARG", "FROM")


def test_multi_stage_with_a_slim_runtime(instructions: list[Instruction]) -> None:
    froms = [i.value for i in instructions if i.keyword == "FROM"]
    assert len(froms) >= 3
    assert froms[-1].endswith("AS runtime")
    args = dict(i.value.split("=", 1) for i in instructions if i.keyword == "ARG" and "=" in i.value)
    assert "slim" in args["PYTHON_IMAGE"]


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
    env = " ".join(final(instructions, "ENV"))
    settings = dict(part.split("=", 1) for part in shlex.split(env) if "=" in part)
    volume = json.loads(final(instructions, "VOLUME")[0])
    assert volume == ["/cache"]
    for name in ("HOME", "NPM_CONFIG_CACHE", "UV_CACHE_DIR", "UV_TOOL_DIR", "XDG_CACHE_HOME"):
        assert settings[name].startswith("/cache/"), name
    assert "chown -R ${UID}:${UID} /cache" in " ".join(final(instructions, "RUN"))


def test_copied_sources_exist_in_the_build_context_the_repository_root(instructions: list[Instruction]) -> None:
    ignore = (ROOT / "proxy-image" / "Dockerfile.dockerignore").read_text()
    for copy in (i.value for i in instructions if i.keyword == "COPY" and "--from=" not in i.value):
        *sources, _ = copy.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert f"!{source}" in ignore or f"!{source}/**" in ignore, f"{source} is excluded from the context"
