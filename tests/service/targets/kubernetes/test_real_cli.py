"""The kubernetes target on kind: real kubelets, real pods, the proxy image behind a real ingress.

The real engine against a real API server runs everywhere (test_real_engine.py,
`dev.py cluster`); what needs a kubelet and a container engine runs in
`.github/workflows/kubernetes-target.yml`. Locally:

    curl -fsSL https://get.pulumi.com | sh && kind create cluster
    docker build -f proxy-image/Dockerfile -t ghcr.io/mcp-adapters/mcp-proxy:1.0.0 .
    kind load docker-image ghcr.io/mcp-adapters/mcp-proxy:1.0.0
    MCP_ADAPTERS_KIND_TEST=1 .venv/bin/pytest -m "pulumi_cli or kind" tests/service/targets/kubernetes
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.service.conftest import ServiceProcess, wait_for

HAS_CLI = shutil.which("pulumi") is not None
KIND = os.environ.get("MCP_ADAPTERS_KIND_TEST") == "1"
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))
NAMESPACE = "mcp-adapters"


def _platform_file(tmp_path: Path) -> Path:
    # The control plane runs on the test machine, not in the cluster: the ingress cannot call its
    # /auth/verify, so this test's platform settings leave forward auth out (production keeps it).
    annotations = {
        "nginx.ingress.kubernetes.io/rewrite-target": "/mcp",
        "nginx.ingress.kubernetes.io/proxy-buffering": "off",
    }
    settings = {"host": "mcp.localtest.me", "ingress": {"annotations": annotations}}
    path = tmp_path / "platform.json"
    path.write_text(json.dumps(settings))
    return path


def _kubectl(*args: str) -> str:
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, check=True, timeout=120).stdout


@pytest.mark.kind
@pytest.mark.skipif(not (HAS_CLI and KIND), reason="needs the Pulumi CLI and a kind cluster (MCP_ADAPTERS_KIND_TEST=1)")
def test_every_example_payload_through_the_service_on_kind(
    tmp_path: Path, start_service: Callable[..., ServiceProcess]
) -> None:
    # The platform stack creates the namespace in production; here it may exist from an earlier run.
    subprocess.run(["kubectl", "create", "namespace", NAMESPACE], capture_output=True, check=False, timeout=120)
    kubeconfig = os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config"))
    service = start_service(
        MCP_ADAPTERS_TARGET="kubernetes",
        MCP_ADAPTERS_KUBECONFIG=kubeconfig,
        MCP_ADAPTERS_PULUMI_CONFIG_PASSPHRASE="kind",
        MCP_ADAPTERS_PLATFORM_SETTINGS_FILE=str(_platform_file(tmp_path)),
        MCP_ADAPTERS_KUBE_READY_TIMEOUT="600",
    )
    api = service.api()
    payloads = [json.loads(path.read_text()) for path in EXAMPLES]
    for payload in payloads:
        assert api.post("/adapters", json=payload).status_code == 201

    def phase(name: str) -> dict[str, Any]:
        return dict(api.get(f"/adapters/{name}/status").json())

    # Without Azure, workload identity cannot be provisioned: the engine's error must be the message.
    for payload in payloads:
        if payload.get("useWorkloadIdentity"):
            failed = wait_for(lambda p=payload: phase(p["name"])["phase"] == "Failed" and phase(p["name"]), 900)
            assert "azure" in json.dumps(failed).lower()
    status = wait_for(lambda: phase("azure-remote")["phase"] == "Ready" and phase("azure-remote"), 900)
    assert status["lastOperation"]["resourceChanges"]["create"] >= 5
    # The ingress serves https only (its TLS secret is absent here, so nginx presents its own certificate).
    with httpx.Client(
        base_url="https://127.0.0.1",
        headers={"Host": "mcp.localtest.me"},
        timeout=60,
        verify=False,  # noqa: S501
    ) as ingress:
        answer = ingress.post(
            "/adapters/azure-remote/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"},
        )
    assert answer.status_code in (200, 400), answer.text  # reached the bridge through the ingress
    assert "jsonrpc" in answer.text

    for payload in payloads:
        assert api.delete(f"/adapters/{payload['name']}").status_code == 202
    for payload in payloads:
        wait_for(lambda p=payload: api.get(f"/adapters/{p['name']}").status_code == 404, 900)
    left = _kubectl("get", "statefulsets,services,ingresses,secrets,serviceaccounts", "-n", NAMESPACE, "-o", "name")
    assert [line for line in left.splitlines() if "kube-root-ca" not in line and "default" not in line] == []
    stacks = subprocess.run(
        ["pulumi", "stack", "ls", "--all", "--json"],
        env={**os.environ, "PULUMI_BACKEND_URL": f"file://{(service.state_dir / 'pulumi' / 'backend').resolve()}"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(stacks.stdout) == []
