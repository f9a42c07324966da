"""Process-wide state of the everything server, observable through its `stats` tool.

One stdio server process serves one client, so process-wide is per session there;
over HTTP (conformance baseline, benchmarks) it is shared by every session, which
is what the conformance scenarios expect.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import anyio
from mcp.server.session import ServerSession
from mcp_types import LoggingLevel

LOG_LEVELS: tuple[LoggingLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


@dataclass
class ServerState:
    slow_started: int = 0
    slow_completed: int = 0
    slow_cancelled: int = 0
    changed: anyio.Event = field(default_factory=anyio.Event)
    min_log_level: LoggingLevel = "debug"
    # Handshake-era `resources/subscribe`: the subscribing request's session keeps
    # its connection's standalone channel, which is where `resources/updated` goes.
    subscribers: dict[str, list[ServerSession]] = field(default_factory=lambda: defaultdict(list))
    resource_versions: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def bump(self) -> None:
        """Wake whoever waits for a counter to move (see the `stats` tool)."""
        self.changed.set()
        self.changed = anyio.Event()

    def log_enabled(self, level: LoggingLevel) -> bool:
        return LOG_LEVELS.index(level) >= LOG_LEVELS.index(self.min_log_level)

    def as_dict(self) -> dict[str, int]:
        return {
            "slow_started": self.slow_started,
            "slow_completed": self.slow_completed,
            "slow_cancelled": self.slow_cancelled,
        }
