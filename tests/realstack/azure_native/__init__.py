"""A stand-in for the `azure-native` Pulumi provider plugin, for tests only: Azure cannot be reached from here.

The real Pulumi engine loads it as the `azure-native` plugin: `install(bin_dir)`
writes an executable `pulumi-resource-azure-native` there, and the engine prefers
a plugin found on `PATH` (an "ambient" plugin, unless `PULUMI_IGNORE_AMBIENT_PLUGINS`
is set) to its plugin cache, whatever version the program asks for. It serves
the three resource types and the one function our product uses, with the real
provider's checks and messages, over a "cloud" that is a directory of JSON
files (`MCP_TEST_AZURE_CLOUD`), safe to share between plugin processes.

The environment a test gives the Pulumi CLI:

- `MCP_TEST_AZURE_CLOUD`: the cloud directory (required; seed it first).
- `ARM_SUBSCRIPTION_ID` (or the stack config `azure-native:subscriptionId`).
- optional `ARM_LOCATION` (or `azure-native:location`): the default location.
- optional `MCP_TEST_AZURE_HOLD_CREATE=<type token>`: Create of that type writes
  the resource to the cloud, then `held/<azure name>` and waits for
  `release/<azure name>` (see `held`, `release`) before it answers (it gives
  up after 600 s). A plugin whose Pulumi CLI was killed exits by itself.

Every call the plugin answers is appended to `<cloud>/calls.jsonl` (`calls`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.realstack.azure_native._arm import CLUSTER_TYPE, GET_MANAGED_CLUSTER, GROUP_TYPE, cluster_id, group_id
from tests.realstack.azure_native._cloud import Cloud
from tests.realstack.azure_native._env import CLOUD_ENV, HOLD_CREATE_ENV, PLUGIN_EXECUTABLE, VERSION
from tests.realstack.azure_native._types import FEDERATED_CREDENTIAL, IDENTITY, ROLE_ASSIGNMENT, TYPES

__all__ = [
    "CLOUD_ENV",
    "FEDERATED_CREDENTIAL",
    "GET_MANAGED_CLUSTER",
    "HOLD_CREATE_ENV",
    "IDENTITY",
    "PLUGIN_EXECUTABLE",
    "ROLE_ASSIGNMENT",
    "VERSION",
    "calls",
    "delete_resource",
    "environment",
    "held",
    "install",
    "install_in_plugin_cache",
    "release",
    "resource",
    "resources",
    "seed_managed_cluster",
    "seed_resource_group",
]

_ROOT = Path(__file__).resolve().parents[3]


def install(bin_dir: Path) -> Path:
    """Write the plugin launcher into `bin_dir` (put that directory first on the CLI's PATH); returns its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    launcher = bin_dir / PLUGIN_EXECUTABLE
    launcher.write_text(
        f"#!{sys.executable}\n"
        '"""The stand-in azure-native provider plugin (tests/realstack/azure_native), for tests only."""\n'
        "import sys\n\n"
        f"sys.path.insert(0, {str(_ROOT)!r})\n"
        "from tests.realstack.azure_native.__main__ import main\n\n"
        "sys.exit(main())\n"
    )
    launcher.chmod(0o755)
    return launcher


def install_in_plugin_cache(pulumi_home: Path) -> Path:
    """The other way in: the launcher in the CLI's plugin cache (`$PULUMI_HOME/plugins`), where
    `pulumi plugin install` would put the real plugin. The engine then resolves it by version, as it would
    the real one, without the "using pulumi-resource-azure-native from $PATH" warning an ambient plugin
    costs on every operation, and even with PULUMI_IGNORE_AMBIENT_PLUGINS set."""
    return install(pulumi_home / "plugins" / f"resource-azure-native-v{VERSION}")


def seed_resource_group(cloud: Path, subscription: str, name: str, location: str) -> str:
    """Create a resource group in the cloud, as an operator would before deploying; returns its id."""
    store = Cloud(cloud)
    record = {"id": group_id(subscription, name), "type": GROUP_TYPE, "token": None, "inputs": {"location": location}}
    with store.locked():
        store.put(record)
    return str(record["id"])


def seed_managed_cluster(
    cloud: Path, subscription: str, group: str, name: str, issuer_url: str, location: str = "westeurope"
) -> str:
    """Create an AKS cluster with its OIDC issuer (what `getManagedCluster` reads); returns its id."""
    store = Cloud(cloud)
    inputs = {"location": location, "issuerURL": issuer_url}
    record = {"id": cluster_id(subscription, group, name), "type": CLUSTER_TYPE, "token": None, "inputs": inputs}
    with store.locked():
        store.put(record)
    return str(record["id"])


def resources(cloud: Path) -> list[dict[str, Any]]:
    """The resources the provider manages, sorted by id: `{"id", "token", "type", "inputs", "outputs"}`."""
    return [_view(record) for record in Cloud(cloud).all() if record.get("token") in TYPES]


def resource(cloud: Path, resource_id: str) -> dict[str, Any] | None:
    record = Cloud(cloud).get(resource_id)
    return _view(record) if record is not None and record.get("token") in TYPES else None


def delete_resource(cloud: Path, resource_id: str) -> bool:
    """Delete a resource behind Pulumi's back (as someone in the portal would)."""
    store = Cloud(cloud)
    with store.locked():
        return store.delete(resource_id)


def held(cloud: Path) -> dict[str, dict[str, Any]]:
    """The Creates waiting now (MCP_TEST_AZURE_HOLD_CREATE), by Azure name: `{"id", "plugin_pid", "engine_pid"}`.

    `engine_pid` is the plugin's parent, the Pulumi CLI process: what a crash test kills."""
    store = Cloud(cloud)
    return {
        path.name: json.loads(path.read_text())
        for path in sorted(store.held_dir.iterdir())
        if not path.name.startswith(".")
    }


def release(cloud: Path, name: str) -> None:
    """Let a held Create answer the engine."""
    (Cloud(cloud).release_dir / name).touch()


def calls(cloud: Path) -> list[dict[str, Any]]:
    """Every gRPC call the plugin processes answered: `{"method", "pid", "at", "urn"?, "type"?, "id"?, ...}`."""
    path = cloud / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _view(record: dict[str, Any]) -> dict[str, Any]:
    kind = TYPES[record["token"]]
    return {
        "id": record["id"],
        "token": record["token"],
        "type": record["type"],
        "inputs": record["inputs"],
        "outputs": kind.outputs(record),
    }


def environment(cloud: Path, subscription: str) -> dict[str, str]:
    """The variables a Pulumi CLI needs to use this cloud (add the launcher's directory to PATH yourself)."""
    return {CLOUD_ENV: str(cloud), "ARM_SUBSCRIPTION_ID": subscription}
