"""Session ids that name their owner replica: `<replica-id>.<128 random bits in hex>`."""

from __future__ import annotations

import re
import secrets

_SESSION_ID = re.compile(r"^(?P<replica>[A-Za-z0-9-]{1,128})\.(?P<token>[0-9a-f]{32})$")


def new_session_id(replica_id: str) -> str:
    return f"{replica_id}.{secrets.token_hex(16)}"


def owner_of(session_id: str) -> str | None:
    """The replica that owns a session, or None when the id is not one of ours."""
    found = _SESSION_ID.fullmatch(session_id)
    return found["replica"] if found else None
