"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake nodes whose pods turn Ready without a kubelet).

    with LocalCluster() as cluster:      # or: python3 dev.py cluster
        print(cluster.kubeconfig)

Everything listens on 127.0.0.1 on ports picked at start; certificates, keys,
etcd's data and every component's log live in one temporary directory that
`stop` removes. The binaries come from `tools` (`python3 dev.py tools`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.realstack import pki, tools

FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"
STOP_GRACE_SECONDS = 10.0


class ClusterError(RuntimeError):
    """The control plane did not come up; the message names the component and the end of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(name: str) -> Path:
    for directory in tools.bin_dirs():
        if (directory / name).exists():
            return directory / name
    found = shutil.which(name)
    if found is None:
        raise ClusterError(f"{name} is not built: run `python3 dev.py tools`")
    return Path(found)


@dataclass
class Component:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def check(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ClusterError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class LocalCluster:
    """One control plane; `start` returns once the API answers and a fake node is Ready."""

    nodes: int = 1
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mcp-adapters-cluster-")))
    components: list[Component] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api_port = free_port()
        self.server = f"https://127.0.0.1:{self.api_port}"
        self.kubeconfig = self.directory / "kubeconfig"
        self.pki: pki.Pki | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        try:
            self.pki = pki.make(self.directory / "pki")
            self._write_kubeconfig()
            etcd_port = free_port()
            self._launch("etcd", self._etcd_argv(etcd_port))
            self._wait(lambda: _tcp_open(etcd_port), "etcd", deadline)
            self._launch("kube-apiserver", self._apiserver_argv(etcd_port))
            self._wait(self._api_ready, "kube-apiserver", deadline)
            self._launch("kube-controller-manager", self._controller_manager_argv())
            self._launch("kube-scheduler", self._scheduler_argv())
            self._launch("kwok", self._kwok_argv())
            for index in range(self.nodes):
                self.request("POST", "/api/v1/nodes", _fake_node(f"fake-node-{index}"))
            self._wait(self._nodes_ready, "kwok (fake nodes Ready)", deadline)
            self._wait(self._default_service_account, "kube-controller-manager (default service account)", deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for component in reversed(self.components):
            component.stop()
        self.components.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    def check(self) -> None:
        """Raises if a component has died."""
        for component in self.components:
            component.check()

    # -- the API, for the runner and for tests -----------------------------------------------------

    def _tls(self) -> ssl.SSLContext:
        """Trusts the cluster's CA and presents the administrator's client certificate."""
        assert self.pki is not None
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - https to our own loopback API server
            self.server + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, context=self._tls(), timeout=10) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path`, or None when the API says 404."""
        try:
            return self.request("GET", path)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    # -- machinery --------------------------------------------------------------------------------

    def _launch(self, name: str, argv: list[str]) -> None:
        component = Component(name, argv, self.directory / f"{name}.log")
        component.start()
        self.components.append(component)

    def _wait(self, ready: Any, what: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.check()
            with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
                if ready():
                    return
            time.sleep(0.2)
        logs = "\n".join(f"--- {c.name}\n{c.tail()}" for c in self.components)
        raise ClusterError(f"{what} was not ready in time:\n{logs}")

    def _api_ready(self) -> bool:
        with urllib.request.urlopen(self.server + "/readyz", context=self._tls(), timeout=5) as response:  # noqa: S310
            return bool(response.status == 200)

    def _nodes_ready(self) -> bool:
        nodes = self.request("GET", "/api/v1/nodes").get("items", [])
        ready = [
            n
            for n in nodes
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        ]
        return len(ready) >= self.nodes

    def _default_service_account(self) -> bool:
        return self.get("/api/v1/namespaces/default/serviceaccounts/default") is not None

    def _write_kubeconfig(self) -> None:
        assert self.pki is not None
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "local", "cluster": {"server": self.server, "certificate-authority": str(self.pki.ca_cert)}}
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate": str(self.pki.admin_cert),
                        "client-key": str(self.pki.admin_key),
                    },
                }
            ],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
            "current-context": "local",
        }
        self.kubeconfig.write_text(json.dumps(config, indent=2))  # JSON is YAML
        self.kubeconfig.chmod(0o600)

    def _etcd_argv(self, port: int) -> list[str]:
        peer = free_port()
        return [
            str(find_binary("etcd")),
            f"--data-dir={self.directory / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{port}",
            f"--advertise-client-urls=http://127.0.0.1:{port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}",
            "--listen-metrics-urls=",
            "--unsafe-no-fsync=true",  # a throwaway cluster: durability across power loss is not wanted
            "--log-level=warn",
        ]

    def _apiserver_argv(self, etcd_port: int) -> list[str]:
        assert self.pki is not None
        return [
            str(find_binary("kube-apiserver")),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.api_port}",
            f"--cert-dir={self.directory / 'apiserver'}",
            f"--tls-cert-file={self.pki.server_cert}",
            f"--tls-private-key-file={self.pki.server_key}",
            f"--client-ca-file={self.pki.ca_cert}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self.pki.service_account_public}",
            f"--service-account-signing-key-file={self.pki.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC",
            # It taints every new node not-ready until the node lifecycle controller sees the kubelet's heartbeat;
            # kwok is the fake nodes' kubelet and that controller is off (see _controller_manager_argv).
            "--disable-admission-plugins=TaintNodesByCondition",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            "--v=0",
        ]

    def _controller_manager_argv(self) -> list[str]:
        assert self.pki is not None
        return [
            str(find_binary("kube-controller-manager")),
            f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",
            f"--service-account-private-key-file={self.pki.service_account_key}",
            f"--root-ca-file={self.pki.ca_cert}",
            # No kubelet reports on the fake nodes' lifecycle the way it expects: kwok is their kubelet.
            "--controllers=*,-node-lifecycle-controller,-node-ipam-controller,-taint-eviction-controller",
            "--concurrent-statefulset-syncs=10",
            "--profiling=false",
        ]

    def _scheduler_argv(self) -> list[str]:
        return [
            str(find_binary("kube-scheduler")),
            f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",
            "--profiling=false",
        ]

    def _kwok_argv(self) -> list[str]:
        return [
            str(find_binary("kwok")),
            f"--kubeconfig={self.kubeconfig}",
            f"--config={tools.kwok_stages_file()}",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
            f"--cidr={POD_CIDR}",
            "--node-ip=127.0.0.1",
            "--server-address=",
        ]


def _tcp_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _fake_node(name: str) -> dict[str, Any]:
    resources = {"cpu": "32", "memory": "256Gi", "ephemeral-storage": "1Ti", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {FAKE_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
        },
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "fake"},
            "phase": "Running",
        },
    }
