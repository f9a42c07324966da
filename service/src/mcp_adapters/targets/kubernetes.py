"""The `kubernetes` target arrives with its own issue (Pulumi Automation API, one stack per adapter).

Until then it refuses clearly at startup instead of accepting adapters it cannot run.
"""

from __future__ import annotations

from mcp_adapters.errors import ConfigurationError
from mcp_adapters.settings import Settings


class KubernetesTarget:
    name = "kubernetes"

    def __init__(self, settings: Settings) -> None:
        raise ConfigurationError(
            "MCP_ADAPTERS_TARGET=kubernetes is not available in this version yet: use the local target, "
            "or deploy adapters with `pulumi up` and the infra program"
        )
