"""Every rule of the pack, in the order findings are reported."""

from __future__ import annotations

from typing import Final

from mcp_policies.rules._base import Rule
from mcp_policies.rules.identity import audience, single_adapter, subject
from mcp_policies.rules.images import allowed_registries, pinned
from mcp_policies.rules.ingress import ingress_auth, ingress_tls
from mcp_policies.rules.network import network_policy
from mcp_policies.rules.pod_security import limits, no_host_access, no_privileged, non_root, read_only_root
from mcp_policies.rules.secrets import no_plain_secret_env
from mcp_policies.rules.trusted_servers import trusted_servers
from mcp_policies.rules.workloads import replica_bounds

RULES: Final[tuple[Rule, ...]] = (
    no_privileged,
    no_host_access,
    non_root,
    limits,
    read_only_root,
    allowed_registries,
    pinned,
    ingress_tls,
    ingress_auth,
    no_plain_secret_env,
    audience,
    subject,
    single_adapter,
    network_policy,
    replica_bounds,
    trusted_servers,
)

__all__ = ["RULES", "Rule"]
