"""`mcp-adapters render`, as a reviewer runs it on the example payloads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.conftest import ROOT, VENV_BIN

EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "mcp-adapters"), *args], capture_output=True, text=True, timeout=120)


def test_render_prints_every_object_of_every_example() -> None:
    for example in EXAMPLES:
        done = run("render", "-f", str(example), "-o", "yaml")
        assert done.returncode == 0, done.stderr
        kinds = {doc.get("kind") for doc in yaml.safe_load_all(done.stdout) if doc}
        assert {"ServiceAccount", "StatefulSet", "Service", "NetworkPolicy", "Ingress"} <= kinds, example.name
        name = json.loads(example.read_text())["name"]
        assert f"/adapters/{name}/mcp" in done.stdout


def test_render_json_and_bad_input(tmp_path: Path) -> None:
    done = run("render", "-f", str(EXAMPLES[0]), "-o", "json")
    assert done.returncode == 0
    assert isinstance(json.loads(done.stdout), list)
    broken = tmp_path / "bad.json"
    broken.write_text(json.dumps({"name": "Not_A_Dns_Label", "imageName": "mcp-proxy", "imageVersion": "1"}))
    refused = run("render", "-f", str(broken))
    assert refused.returncode == 2
    assert "bad.json" in refused.stderr
    assert "Traceback" not in refused.stderr
