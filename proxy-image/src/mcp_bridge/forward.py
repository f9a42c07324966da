"""Forward mode: `/mcp` relayed to `MCP_PROXY_URL`, streamed both ways, with this pod's identity if asked.

The forwarder does not parse MCP: bodies stream through as bytes, so both
protocol eras pass unchanged (`Mcp-Session-Id`, `MCP-Protocol-Version` and
`Mcp-Method` are ordinary headers; sessions live upstream, so any replica can
forward any request). The upstream's own answers, errors included, reach the
client with their status, headers and body; only failures to reach the
upstream are the forwarder's own (502 unreachable, 504 timed out), with a
JSON-RPC error body that says what failed. Redirects are relayed, never followed.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import logging
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping
from functools import partial
from typing import Any

import anyio
import anyio.abc
import httpx
from starlette.types import Receive, Scope, Send

from mcp_bridge import jsonrpc as rpc
from mcp_bridge._http import header, send_error, sse_event
from mcp_bridge._upstream import UpstreamTransport
from mcp_bridge.egress import check_upstream
from mcp_bridge.errors import (
    BodyTooLarge,
    CannotForward,
    ClientError,
    ClientGone,
    TokenUnavailable,
    Unavailable,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from mcp_bridge.identity import Credential, TokenProvider, make_credential
from mcp_bridge.metrics import Metrics
from mcp_bridge.reverse_proxy import cancel_on_disconnect, start_response, stream_body
from mcp_bridge.settings import BridgeSettings

logger = logging.getLogger("mcp_bridge.forward")

# The request headers the upstream gets: what streamable HTTP needs, and nothing that says who the caller is.
# Everything else stays here: the caller's credentials (Authorization is for this platform, never a third party's
# server; the bridge sends its own workload-identity token when asked), cookies, and the identity claims and
# forwarding chains the platform's ingress and relay attach (X-Mcp-UserId, X-Forwarded-*, X-Auth-Request-*, ...).
_TO_UPSTREAM = frozenset(
    {
        b"accept",
        b"accept-encoding",  # bodies are relayed as raw bytes: the upstream must encode only what the caller reads
        b"content-type",
        b"content-length",
        b"user-agent",
        b"last-event-id",
        b"mcp-session-id",
        b"mcp-protocol-version",
        b"mcp-method",
        b"mcp-name",
        b"traceparent",
        b"tracestate",
    }
)
_TO_UPSTREAM_PREFIXES = (b"mcp-param-",)
_READY_CACHE_SECONDS = 2.0


class _KeepNoCookies(http.cookiejar.CookieJar):
    """The upstream's Set-Cookie goes to the caller as a header; the shared client keeps none.

    httpx's default jar would store one caller's cookies and send them with the
    next caller's requests (and parsing them was a visible share of forward mode's time).
    """

    def extract_cookies(self, response: http.client.HTTPResponse, request: urllib.request.Request) -> None:
        return

    def add_cookie_header(self, request: urllib.request.Request) -> None:
        return


class Forwarder:
    def __init__(
        self,
        settings: BridgeSettings,
        environ: Mapping[str, str],
        *,
        credential: Credential | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        assert settings.proxy_url is not None
        self.upstream = check_upstream(
            settings.proxy_url,
            allow_local=settings.upstream_allow_local,
            allow_private=settings.upstream_allow_private,
            environ=environ,
        )
        self.settings = settings
        self.url = settings.proxy_url
        self._parsed_url = httpx.URL(self.url)  # parsed once: parsing it per request was most of build_request
        self.metrics = Metrics()
        self.tokens: TokenProvider | None = None
        if settings.proxy_scope:
            self.tokens = TokenProvider(settings.proxy_scope, settings, credential or make_credential(environ))
        self.client = httpx.AsyncClient(
            transport=transport or UpstreamTransport(),
            cookies=_KeepNoCookies(),
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=settings.upstream_connect_timeout, read=None, write=settings.request_timeout, pool=None
            ),
        )
        # The caller's own Accept, Accept-Encoding and User-Agent go upstream, never httpx's defaults: an encoding
        # the caller did not ask for would reach it still encoded, since bodies are relayed as raw bytes.
        for name in ("accept", "accept-encoding", "user-agent"):
            del self.client.headers[name]
        self.draining = False
        self._in_flight = 0
        self._streams: set[anyio.CancelScope] = set()
        self._probe_lock = anyio.Lock()
        self._probed_at = -_READY_CACHE_SECONDS
        self._probe: dict[str, Any] = {"reachable": False, "detail": "not probed yet"}

    # ---- lifecycle (the same surface `__main__` drives for the bridge) -------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        if self.tokens is not None:
            await self.tokens.warm_up()

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.tokens is not None:
            await self.tokens.aclose()

    def start_draining(self) -> None:
        """Stop taking standing streams and end the open ones, so in-flight requests can finish."""
        self.draining = True
        for stream in list(self._streams):
            stream.cancel()

    def in_flight(self) -> int:
        return self._in_flight

    # ---- readiness --------------------------------------------------------------------------------

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready when the upstream answered anything over HTTP (a 4xx is an answer) and, if asked, a token exists."""
        async with self._probe_lock:
            if time.monotonic() - self._probed_at >= _READY_CACHE_SECONDS:
                self._probe = await self._probe_upstream()
                self._probed_at = time.monotonic()
        state: dict[str, Any] = {"mode": "forward", "upstream": self.url, **self._probe, "draining": self.draining}
        ready = bool(self._probe["reachable"]) and not self.draining
        if self.tokens is not None:
            state["token"] = "acquired" if self.tokens.has_token else (self.tokens.last_error or "pending")
            ready = ready and self.tokens.has_token
        return ready, state

    async def _probe_upstream(self) -> dict[str, Any]:
        # GET without Accept: text/event-stream: servers answer 405/406/400 rather than open a stream.
        try:
            with anyio.fail_after(self.settings.upstream_connect_timeout):
                request = self.client.build_request("GET", self.url, headers={"accept": "application/json"})
                response = await self.client.send(request, stream=True)
                await response.aclose()
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return {"reachable": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
        return {"reachable": True, "status": response.status_code}

    # ---- the relay ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        label = header(scope, b"mcp-method") or method
        if self.draining and method == "GET":
            await self._fail(send, label, "unavailable", Unavailable("the proxy is shutting down", retry_after=1))
            return
        # Values without the whitespace around them (RFC 9110 5.5): it is not part of the value, and the
        # upstream leg's HTTP client refuses to send it.
        headers = [(k, v.strip(b" \t")) for k, v in scope["headers"] if _to_upstream(k)]
        if self.tokens is not None:
            try:
                token = await self.tokens.token()
            except TokenUnavailable as exc:
                await self._fail(send, label, "no_token", exc)
                return
            headers.append((b"authorization", b"Bearer " + token.encode()))
        query = scope.get("query_string", b"")
        url = self.url + ("&" if "?" in self.url else "?") + query.decode("latin-1") if query else self._parsed_url
        has_body = method not in ("GET", "HEAD", "DELETE", "OPTIONS") or header(scope, b"content-length") not in (
            None,
            "0",
        )
        body_done = anyio.Event()
        sent: list[bytes] = []  # the body as it went upstream, to name the requests a timeout ends
        content = self._body(receive, body_done, sent) if has_body else None
        if content is None:
            body_done.set()
        request = self.client.build_request(method, url, headers=headers, content=content)
        started = time.perf_counter()
        self._in_flight += 1
        try:
            await self._exchange(request, send, receive, body_done, sent, label, started, standing=method == "GET")
        finally:
            self._in_flight -= 1

    async def _body(self, receive: Receive, done: anyio.Event, sent: list[bytes]) -> AsyncIterator[bytes]:
        size = 0
        limit = self.settings.max_body_bytes
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                raise ClientGone
            chunk: bytes = event.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            if chunk:
                sent.append(chunk)
                yield chunk
            if not event.get("more_body", False):
                done.set()
                return

    async def _exchange(
        self,
        request: httpx.Request,
        send: Send,
        receive: Receive,
        body_done: anyio.Event,
        sent: list[bytes],
        label: str,
        started: float,
        *,
        standing: bool,
    ) -> None:
        timeout = self.settings.request_timeout
        try:
            with anyio.fail_after(timeout):
                response = await self.client.send(request, stream=True)
        except ClientGone:
            self._count(label, "client_gone", started)
            return
        except BodyTooLarge as exc:
            await self._fail(send, label, "too_large", exc)
            return
        except (TimeoutError, httpx.TimeoutException) as exc:
            what = "connect" if isinstance(exc, httpx.ConnectTimeout) else "answer"
            message = f"the upstream {self.url} did not {what} within {timeout:g}s"
            await self._fail(send, label, "timeout", UpstreamTimeout(message))
            return
        except httpx.LocalProtocolError as exc:
            await self._fail(send, label, "bad_request", CannotForward(f"the request cannot be forwarded: {exc}"))
            return
        except httpx.HTTPError as exc:
            logger.warning("upstream unreachable", extra={"upstream": self.url, "error": repr(exc)})
            unreachable = UpstreamUnreachable(f"the upstream {self.url} is unreachable: {_why(exc)}")
            await self._fail(send, label, "unreachable", unreachable)
            return
        self._count(label, "ok" if response.status_code < 400 else f"upstream_{response.status_code // 100}xx", started)
        try:
            await self._relay(response, send, receive, body_done, sent, standing=standing)
        finally:
            await response.aclose()

    async def _relay(
        self,
        response: httpx.Response,
        send: Send,
        receive: Receive,
        body_done: anyio.Event,
        sent: list[bytes],
        *,
        standing: bool,
    ) -> None:
        await start_response(send, response)
        streaming = response.headers.get("content-type", "").startswith("text/event-stream")
        deadline = anyio.current_time() + self.settings.request_timeout if not standing else float("inf")
        try:
            if not streaming:
                with anyio.move_on_after(deadline - anyio.current_time()):
                    await stream_body(response, send)
                    return
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            # An event stream lasts until the upstream ends it, the client leaves, the deadline, or drain.
            with anyio.CancelScope(deadline=deadline) as scope:
                if standing:
                    self._streams.add(scope)
                try:
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(partial(cancel_on_disconnect, receive, tg.cancel_scope, after=body_done))
                        await stream_body(response, send)
                        tg.cancel_scope.cancel()
                finally:
                    self._streams.discard(scope)
            if scope.cancelled_caught:
                if not standing:
                    # The answer did not come in time: say so on the stream, as bridge mode does, rather
                    # than end it silently (a client would wait for an answer that never comes).
                    timeout = self.settings.request_timeout
                    message = f"the upstream {self.url} did not answer within {timeout:g}s (MCP_BRIDGE_REQUEST_TIMEOUT)"
                    late = UpstreamTimeout(message)
                    for request_id in _request_ids(b"".join(sent)):
                        event = sse_event(late.reply(request_id))
                        await send({"type": "http.response.body", "body": event, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (httpx.HTTPError, OSError) as exc:
            logger.info("stream to or from the upstream broke", extra={"error": repr(exc)})

    async def _fail(self, send: Send, label: str, outcome: str, error: ClientError) -> None:
        self.metrics.request(label, "forward", outcome)
        with contextlib.suppress(OSError):
            await send_error(send, error)

    def _count(self, label: str, outcome: str, started: float) -> None:
        self.metrics.request(label, "forward", outcome, started)


def _to_upstream(name: bytes) -> bool:
    return name in _TO_UPSTREAM or name.startswith(_TO_UPSTREAM_PREFIXES)


def _why(exc: httpx.HTTPError) -> str:
    cause = exc.__cause__ or exc.__context__
    detail = str(exc) or (str(cause) if cause else "")
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _request_ids(body: bytes) -> list[Any]:
    """The ids of the JSON-RPC requests in a POST body (one message or a batch); none if it is not JSON."""
    try:
        messages, _ = rpc.load_body(body)
    except ValueError:
        return []
    return [m["id"] for m in messages if isinstance(m, dict) and rpc.is_request(m) and m["id"] is not None]
