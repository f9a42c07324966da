"""Which replica gets a request: the owner of its session, or any ready replica for new and stateless ones."""

from __future__ import annotations

import itertools

from mcp_bridge.sessionid import owner_of

from mcp_adapters.errors import Unavailable
from mcp_adapters.targets.base import Endpoint, Target


class UnknownSession(Exception):
    """The session id names no replica of this adapter (expired, or from before a restart)."""


class ReplicaRouter:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._turn = itertools.count()

    def pick(self, adapter: str, session_id: str | None) -> Endpoint:
        endpoints = self.target.endpoints(adapter)
        if session_id:
            owner = owner_of(session_id)
            for endpoint in endpoints:
                if endpoint.replica_id == owner:
                    return endpoint
            raise UnknownSession(session_id)
        ready = [e for e in endpoints if e.ready]
        if not ready:
            raise Unavailable(
                f"adapter {adapter!r} has no ready replica yet: see GET /adapters/{adapter}/status",
                headers={"Retry-After": "2"},
            )
        return ready[next(self._turn) % len(ready)]
