"""What can be checked of proxy-image/Dockerfile without a container engine (CI builds and runs it): its text, and
that the bridge it runs drains on the stop signal it names."""

from __future__ import annotations

import json
import re
import signal
import tomllib
from typing import Any

import httpx
import pytest
from mcp_bridge.app import create_app
from mcp_bridge.settings import BridgeSettings

from tests.conftest import ROOT
from tests.dockerfiles import Instruction, build_args, final, final_env, parse, sources_missing_from_context
from tests.proxy_image._raw import ACCEPT, call, initialize, messages_of, sse_events
from tests.proxy_image.conftest import children_of, process_alive

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


def test_the_images_stop_signal_drains_the_request_in_flight_and_leaves_no_process(
    instructions: list[Instruction], start_bridge: Any
) -> None:
    """What the container engine does on `docker stop` or a pod's deletion: send STOPSIGNAL, then wait."""
    (name,) = final(instructions, "STOPSIGNAL")
    stop = signal.Signals(int(name)) if name.isdigit() else signal.Signals[name.upper()]
    bridge = start_bridge("dual")
    with httpx.Client(timeout=30) as client:
        session = initialize(client, bridge.url)
        env = {"name": "env", "arguments": {"name": "X"}}
        server = messages_of(call(client, bridge.url, session, "tools/call", env))[-1]["result"]["structuredContent"]
        server_pids = children_of(bridge.process.pid)
        assert server["pid"] in server_pids
        slow = {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "tools/call",
            "params": {"name": "slow", "arguments": {"seconds": 1.5, "steps": 3}, "_meta": {"progressToken": "p"}},
        }
        events: list[dict[str, Any]] = []
        with client.stream("POST", bridge.url, headers={**ACCEPT, "Mcp-Session-Id": session}, json=slow) as response:
            for _, data in sse_events(response):
                events.append(json.loads(data))
                if len(events) == 1:
                    # The server is working on it (its first progress arrived): now stop the container.
                    bridge.process.send_signal(stop)
    assert events[0]["method"] == "notifications/progress"
    assert events[-1]["id"] == 5
    assert events[-1]["result"]["content"][0]["text"]
    # The drain over, uvicorn re-raises the signal it caught, so the process ends as the signal's default would.
    assert bridge.process.wait(timeout=30) == -stop
    assert "draining" in bridge.log()
    assert not [pid for pid in server_pids if process_alive(pid)]


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
