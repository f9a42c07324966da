"""The headers every reverse proxy of the product keeps to its own hop (RFC 9110 7.6.1)."""

from __future__ import annotations

from mcp_bridge.reverse_proxy import HOP_BY_HOP, end_to_end


def test_hop_by_hop_headers_and_those_connection_names_stay_on_their_hop() -> None:
    received = [
        (b"Content-Type", b"text/event-stream"),
        (b"Connection", b"keep-alive, X-Hop-Secret"),
        (b"Keep-Alive", b"timeout=5"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Trailer", b"Expires"),
        (b"TE", b"trailers"),
        (b"x-hop-secret", b"for this connection only"),
        (b"Proxy-Authenticate", b"Basic"),
        (b"Mcp-Session-Id", b"r-0.abc"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]
    assert end_to_end(received) == [
        (b"content-type", b"text/event-stream"),
        (b"mcp-session-id", b"r-0.abc"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]


def test_a_proxy_may_keep_more_to_its_hop() -> None:
    received = [(b"host", b"replica-a:8000"), (b"content-length", b"12"), (b"accept", b"*/*")]
    assert end_to_end(received, HOP_BY_HOP | {b"host", b"content-length"}) == [(b"accept", b"*/*")]
