"""Session ids that name their owner replica: `<replica-id>.<128 random bits in hex>`.

An id is a bearer secret within its owner's identity: the logs (which readers of
an adapter may fetch) name a session by its `tag` only.
"""

from __future__ import annotations

import hashlib
import re
import secrets

_SESSION_ID = re.compile(r"^(?P<replica>[A-Za-z0-9-]{1,128})\.(?P<token>[0-9a-f]{32})$")


def new_session_id(replica_id: str) -> str:
    return f"{replica_id}.{secrets.token_hex(16)}"


def owner_of(session_id: str) -> str | None:
    """The replica that owns a session, or None when the id is not one of ours."""
    found = _SESSION_ID.fullmatch(session_id)
    return found["replica"] if found else None


def tag(session_id: str) -> str:
    """A session's name in logs: the first 12 hex of its id's SHA-256 (the id cannot be recovered from it)."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:12]
