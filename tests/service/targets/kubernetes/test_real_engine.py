"""The service with the kubernetes target on the real stack: the Pulumi engine built from its Go module, the
kubernetes provider, a real API server with controllers and fake nodes (kwok), and Azure through the stand-in
provider (the only part that is not real). No kubelet: pods turn Ready on fake nodes, nothing runs in them.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.postgres import create_database
from tests.realstack import azure_native
from tests.realstack.cluster import LocalCluster
from tests.realstack.fixtures import RealTools
from tests.service.conftest import ServiceProcess, wait_for

pytestmark = [pytest.mark.real_engine, pytest.mark.timeout(900)]

SUBSCRIPTION = "6b1f3f1a-8d7e-4c1b-9a55-0d3a2b7c9e01"
TENANT = "0f4c2d8e-3b5a-4e71-8c2d-9a1b7e6f5d40"
GROUP = "rg-mcp-adapters"
CLUSTER = "aks-mcp-adapters"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/0f4c2d8e/5d6e7f80/"
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))
PASSPHRASE = "real-engine-tests"
PLUGIN_DOWNLOADS = "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"  # set by RealTools.env: plugins come from PATH
READY_SECONDS = float(os.environ.get("MCP_ADAPTERS_TEST_READY_SECONDS", "300"))


@dataclass
class Platform:
    """A running service, the namespace its adapters go to, and the clouds it deploys into."""

    service: ServiceProcess
    cluster: LocalCluster
    cloud: Path
    namespace: str
    backend: Path
    path: str  # PATH with the real tools and the stand-ins

    def api(self) -> httpx.Client:
        return self.service.api()

    def objects(self, plural: str, group: str = "api/v1") -> list[dict[str, Any]]:
        found = self.cluster.get(f"/{group}/namespaces/{self.namespace}/{plural}") or {}
        return list(found.get("items", []))

    def statefulset(self, name: str) -> dict[str, Any] | None:
        return self.cluster.get(f"/apis/apps/v1/namespaces/{self.namespace}/statefulsets/{name}")

    def ready_pods(self, adapter: str) -> list[dict[str, Any]]:
        return [
            pod
            for pod in self.objects("pods")
            if pod["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == adapter
            and pod["metadata"].get("deletionTimestamp") is None
            and any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        ]

    def pulumi(self, *args: str) -> str:
        """The real CLI on the service's backend, as an operator would run it."""
        env = {**os.environ, "PATH": self.path, "PULUMI_BACKEND_URL": self.backend.as_uri()}
        env["PULUMI_CONFIG_PASSPHRASE"] = PASSPHRASE
        done = subprocess.run(
            ["pulumi", *args], env=env, cwd=self.backend, capture_output=True, text=True, check=False, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stacks(self) -> list[dict[str, Any]]:
        return list(json.loads(self.pulumi("stack", "ls", "--all", "--json")))

    def state(self, adapter: str) -> dict[str, Any]:
        exported: dict[str, Any] = json.loads(
            self.pulumi("stack", "export", "--stack", f"organization/mcp-adapter/{adapter}")
        )
        return exported


def phase(api: httpx.Client, name: str) -> dict[str, Any]:
    return dict(api.get(f"/adapters/{name}/status").json())


def wait_ready(api: httpx.Client, name: str, replicas: int = 1) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def ready() -> dict[str, Any] | None:
        status = phase(api, name)
        seen.clear()
        seen.update(status)  # Failed may pass: the reconciler retries; the last status is in the failure
        done = status.get("phase") == "Ready" and status.get("observedGeneration") == status.get("generation")
        return status if done and status["replicas"]["ready"] == replicas else None

    try:
        result: dict[str, Any] = wait_for(ready, READY_SECONDS, f"{name} Ready with {replicas} replica(s)")
    except AssertionError as error:
        raise AssertionError(f"{error}\nlast status: {json.dumps(seen, indent=1)}") from None
    return result


_NAMESPACES = iter(range(1, 1000))


@pytest.fixture
def platform(
    real_tools: RealTools, kube_cluster: LocalCluster, start_service: Callable[..., ServiceProcess], tmp_path: Path
) -> Callable[..., Platform]:
    """Start the service on the real stack, into a namespace of its own and an Azure of its own."""

    def start(namespace: str | None = None, state_dir: Path | None = None, **env: str) -> Platform:
        if namespace is None:
            namespace = f"t{os.getpid() % 10000}-{next(_NAMESPACES)}"
            kube_cluster.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
        cloud = tmp_path / "azure"
        if not cloud.exists():
            azure_native.seed_resource_group(cloud, SUBSCRIPTION, GROUP, "westeurope")
            azure_native.seed_managed_cluster(cloud, SUBSCRIPTION, GROUP, CLUSTER, ISSUER)
        settings = {
            "namespace": namespace,
            "host": "mcp.test.internal",
            "azure": {"resourceGroupName": GROUP, "clusterName": CLUSTER, "location": "westeurope"},
        }
        platform_file = tmp_path / f"platform-{namespace}.json"
        platform_file.write_text(json.dumps(settings))
        backend = tmp_path / "backend"
        tool_env = real_tools.env(**azure_native.environment(cloud, SUBSCRIPTION))
        uv = shutil.which("uv") or str(ROOT / ".tools" / "uv" / "bin" / "uv")  # the pack's toolchain, as dev.py has it
        tool_env["PATH"] = os.pathsep.join([tool_env["PATH"], str(Path(uv).parent)])
        service = start_service(
            state_dir=state_dir,
            MCP_ADAPTERS_TARGET="kubernetes",
            MCP_ADAPTERS_KUBECONFIG=str(kube_cluster.kubeconfig),
            MCP_ADAPTERS_PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            MCP_ADAPTERS_PULUMI_BACKEND_URL=backend.as_uri(),
            MCP_ADAPTERS_PULUMI_INSTALL_PLUGINS="false",
            MCP_ADAPTERS_PLATFORM_SETTINGS_FILE=str(platform_file),
            MCP_ADAPTERS_AZURE_SUBSCRIPTION_ID=SUBSCRIPTION,
            MCP_ADAPTERS_AZURE_TENANT_ID=TENANT,
            MCP_ADAPTERS_KUBE_READY_TIMEOUT="300",
            MCP_ADAPTERS_RETRY_INITIAL_SECONDS="0.5",
            **{k: tool_env[k] for k in ("PATH", "PULUMI_HOME", "PULUMI_SKIP_UPDATE_CHECK", PLUGIN_DOWNLOADS)},
            **azure_native.environment(cloud, SUBSCRIPTION),
            **env,
        )
        return Platform(service, kube_cluster, cloud, namespace, backend, tool_env["PATH"])

    return start


def test_every_example_payload_reaches_ready_and_delete_leaves_nothing(platform: Callable[..., Platform]) -> None:
    real = platform()
    api = real.api()
    payloads = [json.loads(path.read_text()) for path in EXAMPLES]
    for payload in payloads:
        created = api.post("/adapters", json=payload)
        assert created.status_code == 201, created.text

    for payload in payloads:
        status = wait_ready(api, payload["name"])
        assert (status["lastOperation"]["resourceChanges"] or {}).get("create", 0) >= 5, json.dumps(status, indent=1)
        assert len(real.ready_pods(payload["name"])) == 1

    # Workload identity: one identity per adapter, federated with the adapter's own service account.
    identities = {
        r["inputs"]["resourceName"]: r
        for r in azure_native.resources(real.cloud)
        if r["token"] == azure_native.IDENTITY
    }
    credentials = [r for r in azure_native.resources(real.cloud) if r["token"] == azure_native.FEDERATED_CREDENTIAL]
    wanting = [p["name"] for p in payloads if p.get("useWorkloadIdentity")]
    assert sorted(identities) == sorted(f"id-mcp-{name}" for name in wanting)
    accounts = {sa["metadata"]["name"]: sa for sa in real.objects("serviceaccounts")}
    for name in wanting:
        identity = identities[f"id-mcp-{name}"]
        (credential,) = [c for c in credentials if c["inputs"]["resourceName"] == f"id-mcp-{name}"]
        assert credential["inputs"]["issuer"] == ISSUER  # read from the cluster through getManagedCluster
        subject = credential["inputs"]["subject"]
        account = accounts[subject.rsplit(":", 1)[-1]]
        assert subject == f"system:serviceaccount:{real.namespace}:{account['metadata']['name']}"
        annotations = account["metadata"].get("annotations", {})
        assert annotations["azure.workload.identity/client-id"] == identity["outputs"]["clientId"]

    # The engine's own output is the operation's log.
    log = api.get("/adapters/internal-mcp/logs", params={"source": "operation"})
    assert log.status_code == 200
    assert "kubernetes:apps/v1:StatefulSet" in log.text

    for payload in payloads:
        assert api.delete(f"/adapters/{payload['name']}").status_code == 202
    for payload in payloads:
        wait_for(lambda p=payload: api.get(f"/adapters/{p['name']}").status_code == 404, READY_SECONDS, "deletion")
    for plural, group in (
        ("statefulsets", "apis/apps/v1"),
        ("services", "api/v1"),
        ("ingresses", "apis/networking.k8s.io/v1"),
        ("networkpolicies", "apis/networking.k8s.io/v1"),
        ("poddisruptionbudgets", "apis/policy/v1"),
        ("secrets", "api/v1"),
    ):
        # Deleted without waiting (skipAwait): the garbage collector removes the pods, then their owners.
        wait_for(lambda p=plural, g=group: real.objects(p, g) == [], READY_SECONDS, f"no {plural} left")
    assert [sa["metadata"]["name"] for sa in real.objects("serviceaccounts")] == ["default"]
    assert azure_native.resources(real.cloud) == []
    assert real.stacks() == []


def test_scale_roll_and_secrets_on_the_real_api(platform: Callable[..., Platform]) -> None:
    real = platform()
    api = real.api()
    secret_value = "ghp_realEngineSecret0123456789"
    body = {
        "name": "scaled",
        "imageName": "mcp-proxy",
        "imageVersion": "1.0.0",
        "environmentVariables": {"MCP_PROXY_URL": "https://internal-mcp-server/mcp", "GITHUB_TOKEN": secret_value},
    }
    assert api.post("/adapters", json=body).status_code == 201
    wait_ready(api, "scaled")

    # The secret lives in a Secret only: not in the StatefulSet, not in the API's answers.
    (secret,) = [s for s in real.objects("secrets") if s["metadata"]["name"].startswith("scaled")]
    values = {base64.b64decode(v).decode() for v in secret["data"].values()}
    assert secret_value in values
    statefulset = real.statefulset("scaled")
    assert statefulset is not None
    assert secret_value not in json.dumps(statefulset)
    assert secret_value not in api.get("/adapters/scaled").text

    # Scale to 2: the StatefulSet's controller makes a second pod and kwok makes it Ready.
    assert api.put("/adapters/scaled", json={**body, "replicaCount": 2}).status_code in (200, 202)
    wait_ready(api, "scaled", replicas=2)
    statefulset = real.statefulset("scaled")
    assert statefulset is not None
    assert statefulset["spec"]["replicas"] == 2
    assert len(real.ready_pods("scaled")) == 2
    before = statefulset["status"]["currentRevision"]

    # An environment change rolls the pods onto a new revision.
    changed = {**body, "replicaCount": 2}
    changed["environmentVariables"] = {**body["environmentVariables"], "LOG_LEVEL": "debug"}
    assert api.put("/adapters/scaled", json=changed).status_code in (200, 202)
    wait_ready(api, "scaled", replicas=2)

    def rolled() -> bool:
        current = real.statefulset("scaled") or {}
        status = current.get("status", {})
        pods = real.ready_pods("scaled")
        revisions = {p["metadata"]["labels"].get("controller-revision-hash") for p in pods}
        return (
            status.get("currentRevision") != before
            and status.get("updateRevision") == status.get("currentRevision")
            and len(pods) == 2
            and revisions == {status.get("currentRevision")}
        )

    wait_for(rolled, READY_SECONDS, "the pods rolled onto the new revision")
    env = (real.statefulset("scaled") or {})["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "LOG_LEVEL", "value": "debug"} in env


def test_replica_logs_say_why_they_cannot_be_read_without_a_kubelet(platform: Callable[..., Platform]) -> None:
    real = platform()
    api = real.api()
    body = json.loads((ROOT / "docs" / "examples" / "internal-mcp.json").read_text())
    assert api.post("/adapters", json=body).status_code == 201
    status = wait_ready(api, "internal-mcp")
    assert status["replicas"] == {"desired": 1, "ready": 1}

    logs = api.get("/adapters/internal-mcp/logs")
    # The API server asks the node's kubelet for a pod's log; a fake node has none, and the service says so.
    assert logs.status_code == 503, logs.text
    assert "Retry-After" in logs.headers
    assert logs.json()["detail"]


def test_a_cli_killed_while_creating_the_identity_converges_without_a_duplicate(
    platform: Callable[..., Platform],
) -> None:
    real = platform(MCP_TEST_AZURE_HOLD_CREATE=azure_native.IDENTITY)
    api = real.api()
    body = json.loads((ROOT / "docs" / "examples" / "ado-remote.json").read_text())
    assert api.post("/adapters", json=body).status_code == 201

    # The identity now exists in Azure, but the engine has not recorded it: kill the CLI there.
    held = wait_for(lambda: azure_native.held(real.cloud).get("id-mcp-ado-remote"), READY_SECONDS, "the held create")
    os.kill(held["engine_pid"], signal.SIGKILL)

    # The next attempts are held too: let them answer, as Azure would.
    def released_and_ready() -> dict[str, Any] | None:
        for name in azure_native.held(real.cloud):
            azure_native.release(real.cloud, name)
        status = phase(api, "ado-remote")
        return status if status["phase"] == "Ready" and status["replicas"]["ready"] == 1 else None

    wait_for(released_and_ready, READY_SECONDS, "ado-remote Ready after the kill")
    # One identity in Azure, and the stack knows it: adopted from the interrupted create, not made twice.
    identities = [r for r in azure_native.resources(real.cloud) if r["token"] == azure_native.IDENTITY]
    assert [r["inputs"]["resourceName"] for r in identities] == ["id-mcp-ado-remote"]
    deployment = real.state("ado-remote")["deployment"]
    in_state = [r for r in deployment["resources"] if r["type"] == azure_native.IDENTITY]
    assert [r["id"] for r in in_state] == [identities[0]["id"]]
    assert not deployment.get("pending_operations")
    assert not list((real.backend / ".pulumi" / "locks").rglob("*.json"))  # no lock left behind


def test_a_preview_refused_by_a_mandatory_policy_in_the_engine_returns_the_findings(
    platform: Callable[..., Platform], tmp_path: Path
) -> None:
    # The platform team's CrossGuard pack allows only their registry; the service renders its default one.
    pack_config = tmp_path / "pack-config.json"
    pack_config.write_text(json.dumps({"platform": {"registry": "contoso.azurecr.io/mcp"}}))
    real = platform(
        MCP_ADAPTERS_PULUMI_POLICY_PACKS=str(ROOT / "policies"), MCP_ADAPTERS_POLICY_CONFIG=str(pack_config)
    )
    api = real.api()
    body = json.loads((ROOT / "docs" / "examples" / "internal-mcp.json").read_text())

    preview = api.post("/adapters", json=body, params={"dryRun": "true"})

    assert preview.status_code == 200, preview.text  # not 503 PreviewFailed: the findings are the answer
    answer = preview.json()
    assert answer["allowed"] is False
    refused = [f for f in answer["findings"] if f["policy"] == "allowed-registries"]
    assert refused, answer["findings"]
    assert {f["enforcement"] for f in refused} == {"mandatory"}
    assert "contoso.azurecr.io/mcp" in refused[0]["message"]
    assert {"kubernetes:apps/v1:StatefulSet"} <= {r["type"] for r in answer["resources"]}  # the engine's plan
    assert real.stacks() == []  # a preview of a new adapter leaves no stack
    assert api.get("/adapters/internal-mcp").status_code == 404


def _history_intervals(real: Platform, adapter: str) -> list[tuple[str, str]]:
    """(start, end) of every update the stack's history records, as ISO 8601 times (which sort as text)."""
    history = json.loads(real.pulumi("stack", "history", "--json", "--stack", f"organization/mcp-adapter/{adapter}"))
    return sorted((h["startTime"], h.get("endTime") or h["startTime"]) for h in history)


@pytest.mark.postgres
def test_two_replicas_on_one_database_and_backend_never_run_two_operations_on_one_stack(
    platform: Callable[..., Platform], postgres_server: str, tmp_path: Path
) -> None:
    database = create_database(postgres_server, f"real{os.getpid()}")
    shared = {"MCP_ADAPTERS_LEASE_SECONDS": "5"}
    first = platform(state_dir=tmp_path / "one", DATABASE_URL=database, **shared)
    second = platform(first.namespace, tmp_path / "two", DATABASE_URL=database, **shared)
    assert first.backend == second.backend  # one backend directory, as two pods would share a bucket
    names = [f"pair-{i}" for i in range(6)]
    for index, adapter in enumerate(names):
        replica = first if index % 2 == 0 else second
        body = {**json.loads((ROOT / "docs" / "examples" / "internal-mcp.json").read_text()), "name": adapter}
        assert replica.api().post("/adapters", json=body).status_code == 201

    # One replica dies while the burst is being worked on; the other takes its leases over.
    wait_for(lambda: phase(first.api(), names[0])["phase"] in ("Provisioning", "Ready"), READY_SECONDS, "work")
    first.service.kill()
    for adapter in names:
        wait_ready(second.api(), adapter)

    for adapter in names:
        intervals = _history_intervals(second, adapter)
        assert intervals, adapter
        for (_, end), (start, _) in itertools.pairwise(intervals):
            assert start >= end, f"{adapter}: two operations overlapped: {intervals}"
    assert not list((second.backend / ".pulumi" / "locks").rglob("*.json"))


def test_the_service_killed_while_creating_the_identity_converges_after_a_restart(
    platform: Callable[..., Platform],
) -> None:
    real = platform(MCP_TEST_AZURE_HOLD_CREATE=azure_native.IDENTITY)
    body = json.loads((ROOT / "docs" / "examples" / "foundry-remote.json").read_text())
    assert real.api().post("/adapters", json=body).status_code == 201
    wait_for(lambda: azure_native.held(real.cloud).get("id-mcp-foundry-remote"), READY_SECONDS, "the held create")

    real.service.kill()  # the service, its CLI and the CLI's plugins: the whole process group, mid-create
    again = platform(real.namespace, real.service.state_dir)

    wait_ready(again.api(), "foundry-remote")
    identities = [r for r in azure_native.resources(real.cloud) if r["token"] == azure_native.IDENTITY]
    assert [r["inputs"]["resourceName"] for r in identities] == ["id-mcp-foundry-remote"]
    deployment = again.state("foundry-remote")["deployment"]
    assert [r["id"] for r in deployment["resources"] if r["type"] == azure_native.IDENTITY] == [identities[0]["id"]]
    assert not deployment.get("pending_operations")
    operation_log = again.api().get("/adapters/foundry-remote/logs", params={"source": "operation"}).text
    assert "never finished" in operation_log  # it knew, from its journal, to recover before the next up
