"""Every error the bridge raises on purpose, in one tree.

`ClientError` and its subclasses are what a client is answered with: each
class fixes the HTTP status and the JSON-RPC error code, and `_http.send_error`
turns one into a response for every transport (streamable HTTP, legacy SSE,
forward mode, the peer forwarder); `reply` gives the same error as a JSON-RPC
message where a response is already under way. The other branches are signals
between the bridge's own parts, handled (or turned into a `ClientError`) by the
part that catches them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from mcp_bridge import jsonrpc as rpc
from mcp_bridge.jsonrpc import Message


class BridgeError(Exception):
    """The root of the bridge's own errors."""


class SettingsError(BridgeError):
    """The environment does not describe a runnable bridge; the message says what to fix."""


# ---- answered to the client ---------------------------------------------------------------------


class ClientError(BridgeError):
    """What the client is told: an HTTP status, a JSON-RPC error code and message, and headers."""

    status: ClassVar[int] = 400
    code: ClassVar[int] = rpc.INVALID_REQUEST

    def __init__(self, message: str, *, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        super().__init__(message)
        self.headers = list(headers)

    def reply(self, request_id: Any = None) -> Message:
        """This error as the JSON-RPC answer to `request_id` (None when no request is known yet)."""
        return rpc.error(request_id, self.code, str(self))


class InvalidRequest(ClientError):
    """The request is not one the bridge can take (wrong shape, wrong order, wrong headers)."""


class ParseError(ClientError):
    """The body is not JSON."""

    code = rpc.PARSE_ERROR


class Forbidden(ClientError):
    """The Host or Origin is not allowed (DNS-rebinding protection)."""

    status = 403


class NoSession(ClientError):
    """Unknown, closed, or another identity's session: all look the same, so a session's existence does not leak."""

    status = 404
    code = rpc.SERVER_UNAVAILABLE


class MethodNotFound(ClientError):
    """A method the request's protocol era does not have."""

    status = 404
    code = rpc.METHOD_NOT_FOUND


class MethodNotAllowed(ClientError):
    """An HTTP method the endpoint does not serve; `allow` says which it does."""

    status = 405

    def __init__(self, message: str, *, allow: str) -> None:
        super().__init__(message, headers=[(b"allow", allow.encode())])


class NotAcceptable(ClientError):
    """The Accept header rules out every answer the request can get."""

    status = 406


class Conflict(ClientError):
    """The session already has what the request would open (its GET stream)."""

    status = 409


class BodyTooLarge(ClientError):
    """The request body is over MCP_BRIDGE_MAX_BODY_BYTES."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes (MCP_BRIDGE_MAX_BODY_BYTES)")


class UnsupportedMediaType(ClientError):
    """The body is declared as something other than JSON."""

    status = 415


class Unavailable(ClientError):
    """Nothing can take the request now (no server process, shutting down, ...); the message says why."""

    status = 503
    code = rpc.SERVER_UNAVAILABLE
    retry_after: ClassVar[int] = 2

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        seconds = self.retry_after if retry_after is None else retry_after
        super().__init__(message, headers=[(b"retry-after", str(seconds).encode())])


class Backoff(Unavailable):
    """The server keeps failing at start; new sessions wait until the backoff is over."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message, retry_after=int(wait) + 1)


class SessionLimit(Unavailable):
    """Too many open sessions (MCP_BRIDGE_MAX_SESSIONS)."""

    code = rpc.SESSION_LIMIT
    retry_after = 5


class TokenUnavailable(Unavailable):
    """Forward mode has no valid workload-identity token right now; the message says why (never the token)."""

    retry_after = 5


class CannotForward(ClientError):
    """The caller's request cannot be expressed upstream (say, a header value HTTP does not allow)."""


class UpstreamUnreachable(ClientError):
    """Forward mode cannot reach its upstream (refused, reset, TLS, ...)."""

    status = 502
    code = rpc.SERVER_UNAVAILABLE


class UpstreamTimeout(ClientError):
    """Forward mode's upstream did not connect or answer in time."""

    status = 504
    code = rpc.REQUEST_TIMEOUT


# ---- signals between the bridge's parts ---------------------------------------------------------


class ChildStartError(BridgeError):
    """The server program could not be started (not found, not executable, ...)."""


class ChildGone(BridgeError):
    """The server process has exited; nothing more can be sent to it."""


class ClientGone(BridgeError):
    """The client went away while its request body was still being read."""
