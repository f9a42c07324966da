"""The platform program: namespaces, the control plane, and one McpAdapter per declared adapter.

Stack configuration (all under the `mcp-adapters:` namespace):

- `platform`: the `PlatformSettings` object (camelCase), shared with the policy pack;
- `adaptersFiles`: globs, relative to the project root, of adapters files
  (the `POST /adapters` payloads, one or many per JSON/YAML file);
- `controlPlane`: the `ControlPlaneConfig` object;
- `databaseUrl` (secret): the control plane's database; SQLite on a volume when unset;
- `stacksPassphrase` (secret): with `databaseUrl`, the passphrase for the adapters' stacks'
  secrets, the same on every replica (or a KMS provider in `controlPlane.env`).
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import pulumi

from mcp_infra.adapters_file import load_adapters
from mcp_infra.component import McpAdapter
from mcp_infra.deploy import Deployer
from mcp_infra.platform.config import ControlPlaneConfig
from mcp_infra.platform.control_plane import control_plane, namespaces
from mcp_infra.settings import PlatformSettings
from mcp_infra.spec import AdapterSpec


def read_adapters(patterns: list[str], root: Path) -> list[AdapterSpec]:
    """Every adapter of every file the patterns match, in file order; a pattern matching nothing is an error."""
    specs: list[AdapterSpec] = []
    seen: dict[str, Path] = {}
    for pattern in patterns:
        files = sorted(glob.glob(str(root / pattern), recursive=True))
        if not files:
            raise ValueError(f"adaptersFiles: {pattern!r} matches no file under {root}")
        for file in map(Path, files):
            for spec in load_adapters(file):
                if spec.name in seen:
                    raise ValueError(f"adapter {spec.name!r} is defined in both {seen[spec.name]} and {file}")
                seen[spec.name] = file
                specs.append(spec)
    return specs


def deploy_platform(
    settings: PlatformSettings,
    adapters: list[AdapterSpec],
    control: ControlPlaneConfig,
    database_url: str | None = None,
    stacks_passphrase: str | None = None,
) -> dict[str, Any]:
    """Create everything; returns what the stack exports. Usable from any Pulumi program."""
    deployer = Deployer()
    deployer.create_all(namespaces(settings))
    deployer.create_all(control_plane(settings, control, database_url, stacks_passphrase))
    # Adapters wait for their namespace and its default-deny policy, so no pod ever runs unfenced.
    fence = [
        deployer.created[f"Namespace/{settings.namespace}"],
        deployer.created["NetworkPolicy/platform.default-deny"],
    ]
    endpoints: dict[str, Any] = {}
    for spec in adapters:
        adapter = McpAdapter(spec.name, spec, settings, pulumi.ResourceOptions(depends_on=fence))
        endpoints[spec.name] = adapter.endpoint
    return {"adapters": endpoints, "controlPlane": f"https://{settings.host}/"}


def main() -> None:
    config = pulumi.Config("mcp-adapters")
    settings = PlatformSettings.model_validate(config.get_object("platform") or {})
    control = ControlPlaneConfig.model_validate(config.get_object("controlPlane") or {})
    patterns = config.get_object("adaptersFiles") or []
    if not isinstance(patterns, list):
        raise ValueError("mcp-adapters:adaptersFiles must be a list of globs")
    adapters = read_adapters([str(p) for p in patterns], Path(pulumi.get_root_directory()))
    # Read as plain text only to be rendered as a SecretValue: it becomes a Pulumi secret again.
    database_url = config.get("databaseUrl")
    exports = deploy_platform(settings, adapters, control, database_url, config.get("stacksPassphrase"))
    for key, value in exports.items():
        pulumi.export(key, value)
