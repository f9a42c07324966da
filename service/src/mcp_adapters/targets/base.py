"""The target interface the reconciler drives.

Operations are idempotent and may be long (a Pulumi update takes minutes): they
report progress line by line through an `OperationLog`, which the reconciler
streams into the operation record that `GET /adapters/{name}/status` shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from mcp_infra.spec import AdapterSpec

from mcp_adapters.models import PlannedResource, PreviewFinding


class TargetError(Exception):
    """A failure worth retrying (with backoff): the message says what went wrong."""

    def __init__(self, message: str, *, reason: str = "ApplyFailed") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class UnsupportedSpec(Exception):
    """The target cannot honour this spec as written; retrying will not help until it changes."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Endpoint:
    """One replica the data plane can send MCP traffic to."""

    replica_id: str
    url: str
    ready: bool


@dataclass(frozen=True)
class TargetStatus:
    desired: int
    ready: int
    message: str = ""
    endpoints: tuple[Endpoint, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class TargetPreview:
    """What `apply` would do: the resources (with the planned step when the target knows it)."""

    resources: list[PlannedResource]
    change_summary: dict[str, int] | None = None
    findings: list[PreviewFinding] = field(default_factory=list)


class OperationLog(Protocol):
    def write(self, line: str) -> None:
        """One line of progress; may be called from any thread."""

    def record_changes(self, changes: Mapping[str, int]) -> None:
        """What the operation changed, by kind of step (`create`, `update`, `delete`, `same`...)."""


class Target(Protocol):
    name: str
    # How soon to look again while replicas start (a target that reports changes through `on_change` makes this
    # a safety net, not the way news arrives), and how long they may take before the adapter is Failed.
    progress_interval: float
    ready_timeout: float

    def on_change(self, notify: Callable[[str], None]) -> None:
        """Call `notify(name)`, on the event loop, whenever an adapter's readiness may have changed (a replica
        became ready, or stopped being ready); a target that cannot tell does nothing and is polled instead."""

    async def start(self) -> None:
        """Find what already runs (after a restart) before the reconciler begins."""

    async def close(self) -> None: ...

    def problem(self) -> str | None:
        """Why this target cannot work right now (`/readyz` reports it), or None."""
        ...

    async def interrupt(self) -> None:
        """Ask running operations to stop cleanly (shutdown after the grace period)."""

    def running(self) -> set[str]:
        """Names of adapters this target has something deployed for."""
        ...

    def check_supported(self, spec: AdapterSpec) -> None:
        """Raise UnsupportedSpec when this target cannot honour `spec` as the platform stands: cheap, no side
        effects. The reconciler asks it before it retries a permanent refusal."""

    async def apply(self, spec: AdapterSpec, log: OperationLog) -> None:
        """Make the deployment match `spec` (idempotent); returns once it is rolling, not when ready."""

    async def delete(self, name: str, log: OperationLog) -> None:
        """Remove everything deployed for `name` (idempotent)."""

    async def status(self, name: str) -> TargetStatus: ...

    def endpoints(self, name: str) -> list[Endpoint]:
        """Where the data plane reaches the adapter's replicas."""
        ...

    async def logs(self, name: str, instance: int, tail: int) -> list[str]: ...

    def follow(self, name: str, instance: int, tail: int) -> AsyncIterator[str]: ...

    async def refresh(self, spec: AdapterSpec, log: OperationLog) -> None:
        """Read back what is really deployed (drift) before the next apply."""

    async def preview(self, spec: AdapterSpec) -> TargetPreview:
        """What `apply` would run or create, changing nothing."""
        ...
