"""A session belongs to the identity that opened it, and its id never reaches the logs or the metrics.

The attack: a reader of an adapter (allowed to call it) read the creator's `Mcp-Session-Id` in the logs, then
called tools in and deleted the creator's session. The control plane and the ingress set `X-Mcp-UserId`.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx

from tests.proxy_image._raw import ACCEPT, messages_of, sse_events

LOG_DEADLINE = 10.0
TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def as_user(user: str | None, **headers: str) -> list[tuple[str, str]]:
    return [*headers.items(), *([("X-Mcp-UserId", user)] if user is not None else [])]


def open_session(client: httpx.Client, url: str, user: str | None) -> str:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    response = client.post(url, headers=as_user(user, **ACCEPT), json=init)
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert client.post(url, headers=as_user(user, **ACCEPT, **{"Mcp-Session-Id": session}), json=note).status_code
    return session


def attempts(client: httpx.Client, url: str, session: str, user: str | None) -> list[tuple[int, Any]]:
    """What `user` gets when using, streaming and deleting `session`: (status, body) of each."""
    headers = as_user(user, **ACCEPT, **{"Mcp-Session-Id": session})
    post = client.post(url, headers=headers, json=TOOLS_LIST)
    get = client.get(url, headers=as_user(user, Accept="text/event-stream", **{"Mcp-Session-Id": session}))
    delete = client.delete(url, headers=headers)
    return [(r.status_code, r.json()) for r in (post, get, delete)]


def unknown_like(session: str) -> str:
    """An id of the same replica that no session has."""
    return session.split(".")[0] + "." + "0" * 32


def tag(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()[:12]


def stderr_line(bridge: Any, marker: str) -> dict[str, Any]:
    """The log entry of the server's stderr line carrying `marker` (polled until it is written)."""
    end = time.monotonic() + LOG_DEADLINE
    while time.monotonic() < end:
        for line in bridge.log().splitlines():
            if line.startswith("{") and marker in line:
                return dict(json.loads(line))
        time.sleep(0.05)
    raise AssertionError(f"no log line with {marker!r}:\n{bridge.log()}")


def test_another_identity_gets_what_a_stranger_gets_and_the_owner_keeps_the_session(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    with httpx.Client(timeout=10) as client:
        session = open_session(client, bridge.url, "alice")
        stranger = attempts(client, bridge.url, unknown_like(session), "alice")
        assert [status for status, _ in stranger] == [404, 404, 404]
        for user in ("bob", None, "Alice", ""):
            assert attempts(client, bridge.url, session, user) == stranger, user
        # Two copies of the header are not the owner either, in either order.
        for pair in (["bob", "alice"], ["alice", "bob"]):
            headers = [*ACCEPT.items(), ("Mcp-Session-Id", session), *(("X-Mcp-UserId", u) for u in pair)]
            assert client.post(bridge.url, headers=headers, json=TOOLS_LIST).status_code == 404

        # Nothing the others did touched it: alice's session still works, and she can end it.
        owner = as_user("alice", **ACCEPT, **{"Mcp-Session-Id": session})
        stderr = {"name": "stderr", "arguments": {"message": "marker-owner"}}
        call = client.post(
            bridge.url, headers=owner, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": stderr}
        )
        assert call.status_code == 200
        assert "error" not in messages_of(call)[-1]
        assert client.delete(bridge.url, headers=owner).status_code == 200
        assert client.post(bridge.url, headers=owner, json=TOOLS_LIST).status_code == 404

    # The log names the session by its tag (an operator holding the id can find its lines), never by the id.
    assert stderr_line(bridge, "marker-owner")["session"] == tag(session)
    assert session not in bridge.log()
    assert session.split(".")[1] not in httpx.get(f"{bridge.base}/metrics").text


def test_a_session_opened_without_an_identity_is_not_anyones(start_bridge: Any) -> None:
    bridge = start_bridge("dual")  # run by hand: nobody sets X-Mcp-UserId
    with httpx.Client(timeout=10) as client:
        session = open_session(client, bridge.url, None)
        headers = {**ACCEPT, "Mcp-Session-Id": session}
        assert client.post(bridge.url, headers=as_user("bob", **headers), json=TOOLS_LIST).status_code == 404
        assert client.delete(bridge.url, headers=as_user("bob", **headers)).status_code == 404
        listed = client.post(bridge.url, headers=headers, json=TOOLS_LIST)
        assert listed.status_code == 200
        assert messages_of(listed)[-1]["result"]["tools"]


def test_a_legacy_sse_stream_takes_messages_only_from_its_opener(start_bridge: Any) -> None:
    bridge = start_bridge("dual")
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    with (
        httpx.Client(timeout=10) as client,
        client.stream("GET", f"{bridge.base}/sse", headers=as_user("alice", Accept="text/event-stream")) as stream,
    ):
        events = sse_events(stream)
        kind, endpoint = next(events)
        assert kind == "endpoint"
        messages = f"{bridge.base}{endpoint}"
        stream_id = endpoint.split("session_id=")[1]
        stranger = client.post(f"{bridge.base}/messages?session_id={unknown_like(stream_id)}", json=init)
        assert stranger.status_code == 404
        # bob holds the stream's URL: he can neither start its session nor use it once alice has.
        bob = client.post(messages, headers=as_user("bob"), json=init)
        assert (bob.status_code, bob.json()) == (stranger.status_code, stranger.json())
        assert client.post(messages, headers=as_user("alice"), json=init).status_code == 202
        assert json.loads(next(events)[1])["id"] == 0
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert client.post(messages, headers=as_user("alice"), json=note).status_code == 202
        bob = client.post(messages, headers=as_user("bob"), json=TOOLS_LIST)
        assert (bob.status_code, bob.json()) == (stranger.status_code, stranger.json())
        assert client.post(messages, headers=as_user(None), json=TOOLS_LIST).status_code == 404
        # A batch of one (2024-11-05 allowed batches) is answered on the stream like a single message.
        assert client.post(messages, headers=as_user("alice"), json=[TOOLS_LIST]).status_code == 202
        reply = json.loads(next(events)[1])
        assert reply["id"] == 1
        assert reply["result"]["tools"]
    assert stream_id not in bridge.log()


def test_a_session_forwarded_to_its_owner_replica_still_belongs_to_its_opener(two_replicas: tuple[Any, Any]) -> None:
    a, b = two_replicas
    with httpx.Client(timeout=10) as client:
        session = open_session(client, a.url, "alice")
        stranger = attempts(client, b.url, unknown_like(session), "alice")
        assert attempts(client, b.url, session, "bob") == stranger
        owner = as_user("alice", **ACCEPT, **{"Mcp-Session-Id": session})
        listed = client.post(b.url, headers=owner, json=TOOLS_LIST)
        assert listed.status_code == 200
        assert messages_of(listed)[-1]["result"]["tools"]
        assert client.delete(b.url, headers=owner).status_code == 200
    for replica in (a, b):
        assert session not in replica.log()
        assert session.split(".")[1] not in httpx.get(f"{replica.base}/metrics").text
