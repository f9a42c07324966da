"""A kubernetes target wired to test doubles: the recording Pulumi CLI and a Kubernetes API on loopback."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp_adapters.settings import Settings
from mcp_adapters.targets.kubernetes import KubernetesTarget
from mcp_adapters.targets.kubernetes._stacks import Stacks
from mcp_infra.spec import AdapterSpec

from tests.doubles.pulumi_cli import FakePulumiCommand, Gate
from tests.proxy_image._forward_upstream import serve
from tests.service.targets.kubernetes.fake_cluster import FakeCluster, write_kubeconfig

NS = "mcp-adapters"
PROJECT = "mcp-adapter"


def spec(name: str = "github", replicas: int = 1, **env: str) -> AdapterSpec:
    return AdapterSpec.model_validate(
        {
            "name": name,
            "imageName": "mcp-proxy",
            "imageVersion": "1.0.0",
            "environmentVariables": {"MCP_COMMAND": "npx", "MCP_ARGS": "-y @modelcontextprotocol/server-github", **env},
            "replicaCount": replicas,
        }
    )


@dataclass
class Log:
    """The operation log the reconciler would pass: lines and recorded changes."""

    lines: list[str] = field(default_factory=list)
    changes: list[dict[str, int]] = field(default_factory=list)

    def write(self, line: str) -> None:
        self.lines.append(line)

    def record_changes(self, changes: Any) -> None:
        self.changes.append(dict(changes))

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Harness:
    settings: Settings
    cli: FakePulumiCommand
    cluster: FakeCluster
    target: KubernetesTarget
    signals: list[tuple[str, signal.Signals]] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    ignores_sigint: bool = False  # a CLI stuck where SIGINT does not stop it (only SIGKILL does)

    def hold(self, command: str) -> Gate:
        gate = self.cli.hold(command)
        self.gates.append(gate)
        return gate

    def signal(self, stack: str, sig: signal.Signals) -> int:
        """Stands in for signalling the CLI process: the held operation ends as a signalled CLI would."""
        self.signals.append((stack, sig))
        if sig == signal.SIGINT and self.ignores_sigint:
            return 1
        for gate in self.gates:
            # A real CLI takes the signal wherever it is; the double's operation can only end at its gate.
            if not gate.is_set() and gate.wait_started(30):
                gate.interrupt() if sig == signal.SIGINT else gate.kill()
        return 1

    def calls_since(self, start: int) -> list[str]:
        return [c.command for c in self.cli.calls[start:]]

    def roll_out(self, ready: bool = True) -> None:
        """What the cluster would do after an `up`: the StatefulSet the stack holds, its pods (not) ready."""
        for stack in self.cli.stacks(PROJECT, root=self.backend):
            for resource in self.cli.resources(PROJECT, stack, root=self.backend):
                if resource["type"] == "kubernetes:apps/v1:StatefulSet":
                    metadata, body = resource["inputs"]["metadata"], resource["inputs"]["spec"]
                    replicas = int(body["replicas"])
                    self.cluster.statefulset(metadata["namespace"], metadata["name"], replicas, ready=replicas * ready)

    @property
    def backend(self) -> Path:
        return self.settings.state_dir.resolve() / "pulumi" / "backend"


def make_settings(tmp_path: Path, kubeconfig: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "state_dir": tmp_path / "state",
        "target": "kubernetes",
        "kubeconfig": kubeconfig,
        "pulumi_conflict_wait_seconds": 0,
        "pulumi_conflict_retries": 3,
        "azure_subscription_id": "00000000-0000-0000-0000-000000000000",
        "azure_location": "westeurope",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[Any]:
    cluster = FakeCluster()
    made: list[Harness] = []
    async with serve(cluster.app) as url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, cluster.token)

        async def make(cli: FakePulumiCommand | None = None, **overrides: Any) -> Harness:
            settings = make_settings(tmp_path, kubeconfig, **overrides)
            cli = cli or FakePulumiCommand()
            harness = Harness(settings, cli, cluster, target=None)  # type: ignore[arg-type]
            stacks = Stacks(settings, command_factory=lambda _: cli, signal_cli=harness.signal)
            harness.target = KubernetesTarget(settings, stacks=stacks)
            made.append(harness)
            await harness.target.start()
            return harness

        yield make
        for harness in made:
            for gate in harness.gates:
                gate.release()
            await harness.target.close()
