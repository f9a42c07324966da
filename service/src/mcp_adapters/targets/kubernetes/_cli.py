"""The Pulumi CLI as the service finds and drives it: the version it needs, the environment, signals.

Everything that touches the CLI process itself, rather than a stack, lives here.
"""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path

from pulumi.automation import PulumiCommand
from semver import VersionInfo

from mcp_adapters.settings import Settings
from mcp_adapters.targets import _procs

# Inline programs for refresh and destroy need `--client`, added in 3.181.
MIN_CLI_VERSION = VersionInfo(3, 181, 0)
# Provider plugins installed at start, for the versions of the SDKs installed next to the service.
PLUGINS = {"kubernetes": "pulumi-kubernetes", "azure-native": "pulumi-azure-native"}
_TAIL_LINES = 8


def install_hint(root: Path | None, error: BaseException) -> str:
    where = f"in {root}/bin" if root else "on PATH"
    return (
        f"the Pulumi CLI (>= {MIN_CLI_VERSION}) is not usable {where} ({error}): install it with "
        "`curl -fsSL https://get.pulumi.com | sh` (or your package manager) and make `pulumi` available to the "
        "service, or set MCP_ADAPTERS_PULUMI_CLI_ROOT to the directory that holds bin/pulumi"
    )


def find_cli(settings: Settings) -> PulumiCommand:
    root = str(settings.pulumi_cli_root) if settings.pulumi_cli_root else None
    return PulumiCommand(root=root, version=MIN_CLI_VERSION)


def signal_cli_processes(stack_name: str, sig: signal.Signals) -> int:
    """Signal the CLI running this stack; returns how many CLI processes were signalled.

    SIGINT goes to the CLI alone (the engine stops its plugins itself). SIGKILL also goes to everything the CLI
    started (language host, provider plugins, policy analyzers): a killed CLI cannot stop them, and they would run
    on as orphans, each holding hundreds of MB.
    """

    def runs_this_stack(argv: list[str]) -> bool:
        if not argv or Path(argv[0]).name != "pulumi":
            return False
        return any(a == "--stack" and b == stack_name for a, b in itertools.pairwise(argv))

    return _procs.signal_children(runs_this_stack, sig, with_descendants=sig == signal.SIGKILL)


def tail(exc: BaseException) -> str:
    """The useful end of a CLI failure: stderr's last lines (stdout's when stderr is empty)."""
    text = str(exc)
    stdout, _, stderr = text.partition(" stderr:")
    chosen = stderr.strip() or stdout.partition(" stdout:")[2].strip() or text.strip()
    lines = [line.strip() for line in chosen.splitlines() if line.strip()]
    return " / ".join(lines[-_TAIL_LINES:])


def azure_workload_identity_environment() -> dict[str, str]:
    """The service's own workload identity (AKS injects AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE),
    as the azure-native provider should use it; nothing when the operator configured ARM_* credentials.

    The token is never passed by value: the kubelet rotates the projected file and an operation may outlive the
    token read when it started. azure-native's `useDefaultAzureCredential` builds azidentity's
    DefaultAzureCredential, whose WorkloadIdentityCredential reads AZURE_FEDERATED_TOKEN_FILE again whenever its
    copy is ten minutes old; that credential comes first in azure-native's order. (azure-native's OIDC credential
    reads ARM_OIDC_TOKEN_FILE_PATH once, when the provider starts: set too, for a provider without the default
    credential, it still never puts the token in the environment, but it cannot keep a long operation signed in.)
    """
    token_file = os.environ.get("AZURE_FEDERATED_TOKEN_FILE")
    if not token_file or os.environ.get("ARM_CLIENT_ID"):
        return {}
    env = {"ARM_USE_DEFAULT_AZURE_CREDENTIAL": "true", "ARM_USE_OIDC": "true", "ARM_OIDC_TOKEN_FILE_PATH": token_file}
    for source, target in (("AZURE_CLIENT_ID", "ARM_CLIENT_ID"), ("AZURE_TENANT_ID", "ARM_TENANT_ID")):
        if value := os.environ.get(source):
            env[target] = value
    return env
