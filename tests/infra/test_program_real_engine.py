"""The platform program (`Pulumi.yaml`, `infra/program`) on the real engine, as docs/platform.md tells a platform
team to run it: `pulumi stack init`, `pulumi config set-all`, `pulumi preview|up --policy-pack policies`, against
the test session's real API server (fake nodes: pods turn Ready, nothing runs in them).

It runs on a copy of the root `Pulumi.yaml` whose `infra/`, `docs/` and `.venv` are the repository's own (the copy
keeps `Pulumi.<stack>.yaml` out of the checkout). The Python language host is our stand-in
(tests/realstack/language_python: the proxy does not serve the real one); engine, provider, pack and program are real.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.realstack.cluster import LocalCluster
from tests.realstack.fixtures import RealTools
from tests.service.conftest import wait_for

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
PLANNED = re.compile(r"^\s*\+\s+(\S+:\S+)\s+(\S+)\s+create\b", re.MULTILINE)
VIOLATION = re.compile(r"- \[(mandatory|advisory)\]\s+(\S+)\s+\((\S+): (\S+)\)\n\s+.*\n\s+(.*)")

pytestmark = [pytest.mark.real_engine, pytest.mark.timeout(600)]


@dataclass(frozen=True)
class Project:
    """A copy of the root project with its own DIY backend; `pulumi(...)` runs the CLI in it."""

    dir: Path
    kubeconfig: Path
    env: dict[str, str]
    pulumi: Callable[..., subprocess.CompletedProcess[str]]

    def stack(self, name: str, adapters_files: list[str], platform: dict[str, Any] = PLATFORM) -> None:
        self.pulumi("stack", "init", name)
        self.configure(name, adapters_files, platform)

    def configure(self, name: str, adapters_files: list[str], platform: dict[str, Any] = PLATFORM) -> None:
        config = {
            "kubernetes:kubeconfig": str(self.kubeconfig),
            "mcp-adapters:adaptersFiles": adapters_files,
            "mcp-adapters:controlPlane": {"imageVersion": "0.1.0", "workloadIdentity": False},
            "mcp-adapters:platform": platform,
        }
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
def project(real_tools: RealTools, kube_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Project:
    work = tmp_path_factory.mktemp("platform-program")
    project_dir = work / "project"
    project_dir.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project_dir)
    for name in ("infra", "docs", ".venv"):
        (project_dir / name).symlink_to(ROOT / name)
    (project_dir / "rogue.json").write_text(json.dumps(ROGUE))
    (project_dir / "policy-config.json").write_text(json.dumps({"platform": PLATFORM}))
    (work / "state").mkdir()
    env = real_tools.env(
        PULUMI_BACKEND_URL=(work / "state").as_uri(),
        PULUMI_CONFIG_PASSPHRASE="language-python-tests",
        MCP_ADAPTERS_POLICY_CONFIG=str(project_dir / "policy-config.json"),
    )
    for variable in ("KUBECONFIG", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_ACCESS_TOKEN", "VIRTUAL_ENV"):
        env.pop(variable, None)

    def pulumi(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [real_tools.pulumi, *args, "--non-interactive", "--color", "never"]
        done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"`pulumi {' '.join(args)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    return Project(project_dir, kube_cluster.kubeconfig, env, pulumi)


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


def test_up_deploys_the_adapters_and_a_mandatory_violation_blocks_the_next_up(
    project: Project, kube_cluster: LocalCluster
) -> None:
    # Namespaces of its own, and no waiting for rollouts the engine cannot see finish (no ingress controller).
    namespace, system = "platform-adapters", "platform-system"
    platform = {**PLATFORM, "namespace": namespace, "awaitRollout": False}
    platform["controlPlane"] = {**PLATFORM["controlPlane"], "namespace": system}  # type: ignore[dict-item]
    pack = str(ROOT / "policies")
    project.stack("deployed", EXAMPLES, platform)

    up = project.pulumi("up", "--yes", "--stack", "deployed", "--policy-pack", pack)
    assert violations(up.stdout) == set()

    def ready(adapter: str) -> bool:
        found = kube_cluster.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{adapter}") or {}
        return bool(found.get("status", {}).get("readyReplicas") == 1)

    for adapter in ("azure-remote", "internal-mcp"):
        wait_for(lambda a=adapter: ready(a), 120, f"{adapter}'s pod Ready")
    assert kube_cluster.get(f"/apis/apps/v1/namespaces/{system}/deployments/mcp-adapters") is not None

    project.configure("deployed", [*EXAMPLES, "rogue.json"], platform)
    refused = project.pulumi("up", "--yes", "--stack", "deployed", "--policy-pack", pack, check=False)
    assert refused.returncode != 0
    assert ("mandatory", "trusted-servers") in {v[:2] for v in violations(refused.stdout)}, refused.stdout
    assert kube_cluster.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/rogue") is None

    project.pulumi("destroy", "--yes", "--stack", "deployed")
    for adapter in ("azure-remote", "internal-mcp"):
        path = f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{adapter}"
        wait_for(lambda p=path: kube_cluster.get(p) is None, 120, f"{adapter} gone")
