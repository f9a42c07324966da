"""The outbound side of one HTTP response: the messages that must reach one client stream."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from mcp_bridge.jsonrpc import Message, id_key, is_response

logger = logging.getLogger("mcp_bridge.exchange")

# How many messages may wait for a slow client before the bridge stops waiting for it.
_BUFFER = 256


class Exchange:
    """A client stream: a POST response (waiting for the answers to its requests) or a standing stream.

    A POST exchange is done once every request it carried has its response; a
    standing stream (GET, legacy SSE) lasts until the client goes away.
    `accepts_events` says whether notifications may be put on it (an SSE
    response can carry them, a plain JSON response cannot).
    """

    def __init__(self, request_ids: list[Any] | None = None, *, accepts_events: bool = True) -> None:
        self.standing = request_ids is None
        self.accepts_events = accepts_events
        self.pending = {id_key(i) for i in request_ids or ()}
        self.closed = False
        self._send: MemoryObjectSendStream[Message]
        self._receive: MemoryObjectReceiveStream[Message]
        self._send, self._receive = anyio.create_memory_object_stream[Message](_BUFFER)

    @property
    def receive(self) -> MemoryObjectReceiveStream[Message]:
        return self._receive

    def deliver(self, message: Message) -> bool:
        """Queue a message for the client; False if the stream is gone or hopelessly behind."""
        if self.closed:
            return False
        if is_response(message):
            self.pending.discard(id_key(message.get("id")))
        try:
            self._send.send_nowait(message)
        except anyio.WouldBlock:
            logger.warning("client stream is not reading; dropping it")
            self.close()
            return False
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.closed = True
            return False
        if not self.standing and not self.pending:
            self.close()
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._send.close()
