"""The stand-in `pulumi-language-python` under the real Pulumi engine: the root project, as platform teams run it.

`pulumi stack init`, `pulumi config set-all` and `pulumi preview [--policy-pack policies]` (docs/platform.md)
on a copy of the root `Pulumi.yaml` whose `infra/`, `docs/` and `.venv` are the repository's own (the copy keeps
`Pulumi.<stack>.yaml` out of the checkout). The engine starts our host, which runs `infra/program` in `.venv`
and, for `--policy-pack`, the CrossGuard pack through RunPlugin. There is no cluster: the kubernetes provider
previews against a kubeconfig whose API server refuses connections.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.realstack import language_python
from tests.realstack.fixtures import RealTools, real_tools  # noqa: F401 - real_tools is a fixture

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["docs/examples/azure-remote.json", "docs/examples/internal-mcp.json"]  # no workload identity: no Azure
PLATFORM = {
    "namespace": "mcp-adapters",
    "registry": "contoso.azurecr.io/mcp",
    "host": "mcp.dev.contoso.com",
    "tlsSecretName": "mcp-dev-tls",
    "ingress": {"className": "nginx"},
    "controlPlane": {"namespace": "mcp-system", "serviceName": "mcp-adapters"},
    "maxReplicas": 5,
    "trustedServers": {
        "images": ["mcp-proxy"],
        "commands": ["npx", "uvx"],
        "packages": ["@azure/mcp@*"],
        "upstreamHosts": ["internal-mcp-server"],
    },
}
ROGUE = {
    "name": "rogue",
    "imageName": "mcp-proxy",
    "imageVersion": "1.0.0",
    "environmentVariables": {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @evil/mcp-server"},
    "description": "Runs a package nobody put on the allow-list",
}
KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
    "users": [{"name": "nobody", "user": {"token": "none"}}],
    "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "nobody"}}],
    "current-context": "nowhere",
}
PLANNED = re.compile(r"^\s*\+\s+(\S+:\S+)\s+(\S+)\s+create\b", re.MULTILINE)
VIOLATION = re.compile(r"- \[(mandatory|advisory)\]\s+(\S+)\s+\((\S+): (\S+)\)\n\s+.*\n\s+(.*)")

pytestmark = [pytest.mark.real_engine, pytest.mark.timeout(600)]


@dataclass(frozen=True)
class Project:
    """A copy of the root project with its own DIY backend; `pulumi(...)` runs the CLI in it."""

    dir: Path
    env: dict[str, str]
    pulumi: Callable[..., subprocess.CompletedProcess[str]]

    def stack(self, name: str, adapters_files: list[str]) -> None:
        config = {
            "kubernetes:kubeconfig": str(self.dir / "kubeconfig.json"),
            "mcp-adapters:adaptersFiles": adapters_files,
            "mcp-adapters:controlPlane": {"imageVersion": "0.1.0", "workloadIdentity": False},
            "mcp-adapters:platform": PLATFORM,
        }
        self.pulumi("stack", "init", name)
        self.pulumi("config", "set-all", "--stack", name, "--json", json.dumps(_config_json(config)))


def _config_json(values: dict[str, Any]) -> dict[str, Any]:
    """Values in the format of `pulumi config --json`, which `config set-all --json` reads."""
    return {
        key: {"value": value, "secret": False}
        if isinstance(value, str)
        else {"value": json.dumps(value), "objectValue": value, "secret": False}
        for key, value in values.items()
    }


@pytest.fixture(scope="module")
def project(real_tools: RealTools, tmp_path_factory: pytest.TempPathFactory) -> Project:  # noqa: F811
    work = tmp_path_factory.mktemp("language-python")
    launcher = language_python.install(work / "bin")
    project_dir = work / "project"
    project_dir.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project_dir)
    for name in ("infra", "docs", ".venv"):
        (project_dir / name).symlink_to(ROOT / name)
    (project_dir / "kubeconfig.json").write_text(json.dumps(KUBECONFIG))
    (project_dir / "rogue.json").write_text(json.dumps(ROGUE))
    (project_dir / "policy-config.json").write_text(json.dumps({"platform": PLATFORM}))
    (work / "state").mkdir()
    env = real_tools.env(
        PULUMI_BACKEND_URL=(work / "state").as_uri(),
        PULUMI_CONFIG_PASSPHRASE="language-python-tests",
        MCP_ADAPTERS_POLICY_CONFIG=str(project_dir / "policy-config.json"),
    )
    env["PATH"] = os.pathsep.join([str(launcher.parent), env["PATH"]])
    for variable in ("KUBECONFIG", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_ACCESS_TOKEN", "VIRTUAL_ENV"):
        env.pop(variable, None)

    def pulumi(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [real_tools.pulumi, *args, "--non-interactive", "--color", "never"]
        done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"`pulumi {' '.join(args)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    return Project(project_dir, env, pulumi)


def planned(output: str) -> set[tuple[str, str]]:
    return set(PLANNED.findall(output))


def violations(output: str) -> set[tuple[str, str, str, str, str]]:
    """(enforcement, policy, type, name, message) for every violation under `Policies:`."""
    return set(VIOLATION.findall(output.partition("Policies:")[2]))


def test_preview_runs_the_root_program(project: Project) -> None:
    project.stack("examples", EXAMPLES)

    done = project.pulumi("preview", "--stack", "examples")

    creates = planned(done.stdout)
    for adapter in ("azure-remote", "internal-mcp"):
        assert ("mcp-adapters:index:McpAdapter", adapter) in creates
        assert ("kubernetes:apps/v1:StatefulSet", adapter) in creates
        assert ("kubernetes:networking.k8s.io/v1:NetworkPolicy", adapter) in creates
        assert ("kubernetes:networking.k8s.io/v1:Ingress", adapter) in creates
        assert f'{adapter}: "https://mcp.dev.contoso.com/adapters/{adapter}/mcp"' in done.stdout
    assert ("kubernetes:apps/v1:Deployment", "mcp-adapters") in creates  # the control plane
    assert ("kubernetes:core/v1:Namespace", "mcp-system") in creates
    assert f"+ {len(creates)} to create" in done.stdout  # every planned resource was printed
    assert "error" not in done.stdout.lower()


def test_policy_pack_passes_the_examples(project: Project) -> None:
    project.stack("examples-policed", EXAMPLES)

    pack = str(ROOT / "policies")
    done = project.pulumi("preview", "--stack", "examples-policed", "--policy-pack", pack, check=False)

    assert violations(done.stdout) == set(), done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"mcp-adapters@v0.1.0 (local: {ROOT / 'policies'})" in done.stdout


def test_policy_pack_stops_an_untrusted_adapter(project: Project) -> None:
    project.stack("rogue", [*EXAMPLES, "rogue.json"])

    done = project.pulumi("preview", "--stack", "rogue", "--policy-pack", str(ROOT / "policies"), check=False)

    assert done.returncode != 0
    assert ("kubernetes:apps/v1:StatefulSet", "rogue") in planned(done.stdout)  # the program ran; the pack said no
    assert violations(done.stdout) == {
        (
            "mandatory",
            "trusted-servers",
            "kubernetes:apps/v1:StatefulSet",
            "rogue",
            "package @evil/mcp-server is not trusted (@azure/mcp@*): ask to add it",
        )
    }, done.stdout
