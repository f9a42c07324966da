"""Pytest fixtures for the real tier: the Go-built tools, one Kubernetes control plane per session.

A test that needs a tool asks for `real_tools`; when a tool is missing it is
skipped on a developer's machine and **fails** under `CI=true`, where `.ci/run`
has built everything (`python3 dev.py tools`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.realstack import tools
from tests.realstack.cluster import ClusterError, LocalCluster

PULUMI_TOOLS = ("pulumi", "pulumi-resource-kubernetes")
CLUSTER_TOOLS = ("etcd", "kubernetes", "kwok")


def require(names: tuple[str, ...]) -> None:
    """Skip (fail under CI=true) unless the named tools are built."""
    missing = [tool.name for tool in tools.missing() if tool.name in names]
    if not missing:
        return
    message = f"not built: {', '.join(missing)} (run `python3 dev.py tools`)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class RealTools:
    """PATH and environment under which the real Pulumi CLI finds its plugins and nothing else."""

    bin_dirs: tuple[Path, ...]
    pulumi_home: Path

    def env(self, **extra: str) -> dict[str, str]:
        path = os.pathsep.join([*(str(d) for d in self.bin_dirs), os.environ.get("PATH", "")])
        return {
            **os.environ,
            "PATH": path,
            "PULUMI_HOME": str(self.pulumi_home),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            # Plugins come from PATH (the tools and the stand-ins); a download could not work here anyway.
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            **extra,
        }

    @property
    def pulumi(self) -> str:
        found = shutil.which("pulumi", path=os.pathsep.join(str(d) for d in self.bin_dirs))
        assert found is not None
        return found


@pytest.fixture(scope="session")
def real_tools(tmp_path_factory: pytest.TempPathFactory) -> RealTools:
    """The Pulumi CLI and the kubernetes provider from `dev.py tools`, plus the stand-ins for what is not here:
    Azure (`azure_native`) and the Python language host, whose Go module the proxy does not serve."""
    require(PULUMI_TOOLS)
    from tests.realstack import azure_native, language_python

    stand_ins = tmp_path_factory.mktemp("stand-in-plugins")
    azure_native.install(stand_ins)
    language_python.install(stand_ins)
    home = tmp_path_factory.mktemp("pulumi-home")
    return RealTools((stand_ins, *tools.bin_dirs()), home)


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[LocalCluster]:
    """One real control plane (etcd, kube-apiserver, controllers, kwok) for the whole session."""
    require(CLUSTER_TOOLS)
    cluster = LocalCluster(nodes=2)
    try:
        cluster.start()
    except ClusterError as error:
        pytest.fail(f"the test cluster did not start: {error}")
    try:
        yield cluster
    finally:
        cluster.stop()
