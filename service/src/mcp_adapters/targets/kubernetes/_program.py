"""The inline program of an adapter's stack: the `McpAdapter` component from `infra`, nothing else.

The platform program (`infra/program`) creates the namespaces and the
control plane; each adapter's stack owns exactly one component, so a change to
one adapter can never touch another.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
from mcp_infra.component import McpAdapter
from mcp_infra.names import AdapterNames
from mcp_infra.settings import PlatformSettings
from mcp_infra.spec import AdapterSpec


def adapter_program(spec: AdapterSpec, platform: PlatformSettings) -> Callable[[], None]:
    """A Pulumi program (for `create_or_select_stack(program=...)`) deploying `spec` with `platform`."""

    def program() -> None:
        adapter = McpAdapter(spec.name, spec, platform)
        names = AdapterNames.of(spec.name, platform.azure.identity_name_prefix)
        pulumi.export("endpoint", adapter.endpoint)
        pulumi.export("namespace", platform.namespace)
        pulumi.export("statefulSet", names.statefulset)
        pulumi.export("serviceAccountName", adapter.service_account_name)
        pulumi.export("identityClientId", adapter.identity_client_id)

    return program
