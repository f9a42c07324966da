"""What the platform accepts before anything is recorded: replica bounds and trusted servers."""

from __future__ import annotations

from mcp_infra.spec import AdapterSpec

from mcp_adapters.errors import UntrustedServer, ValidationFailed
from mcp_adapters.settings import Settings


def admit(spec: AdapterSpec, settings: Settings, *, trusted: bool = True) -> None:
    """Raise when the platform refuses this spec; the problem names the rule and the fix.

    `trusted=False` leaves the trusted-servers list out: a preview reports it as mandatory findings instead, so a
    review shows every reason at once and the adapter as it would be."""
    if not settings.min_replicas <= spec.replica_count <= settings.max_replicas:
        raise ValidationFailed(
            f"replicaCount {spec.replica_count} is outside this platform's bounds",
            errors=[
                {
                    "field": "replicaCount",
                    "message": f"must be between {settings.min_replicas} and {settings.max_replicas}",
                }
            ],
        )
    allow = settings.resolved_trusted_servers
    if allow is None or not trusted:  # development mode with no list configured: nothing is restricted
        return
    from mcp_policies.trusted import check_trusted

    findings = check_trusted(spec, allow)
    if findings:
        raise UntrustedServer(
            f"adapter {spec.name!r} would run something the platform does not trust (rule {findings[0].policy})",
            errors=[{"rule": f.policy, "message": f.message} for f in findings],
        )
