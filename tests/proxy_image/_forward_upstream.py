"""In-process HTTP servers on 127.0.0.1 for forward-mode tests: a scripted upstream and a token endpoint."""

from __future__ import annotations

import datetime
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs

import anyio
import uvicorn
from mcp_bridge._http import send_json
from starlette.types import ASGIApp, Receive, Scope, Send


@asynccontextmanager
async def serve(app: ASGIApp, *, certfile: Path | None = None, keyfile: Path | None = None) -> AsyncIterator[str]:
    """Serve `app` on a fresh loopback port; the socket listens before this yields, so no waiting is needed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="auto",
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        # Clients that keep a connection open (a `requests` session after an error) must not stall the test.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            yield f"{'https' if certfile else 'http'}://127.0.0.1:{port}"
        finally:
            server.should_exit = True


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        event = await receive()
        chunks.append(event.get("body", b""))
        if not event.get("more_body"):
            return b"".join(chunks)


class ScriptedUpstream:
    """`/mcp?case=...`: echo (headers and body back), teapot (an upstream error), stream (SSE released
    step by step by the test), hang (never answers), redirect (to the metadata address)."""

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.seen: list[dict[str, str]] = []
        self.stream_closed = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        case = parse_qs(scope["query_string"].decode()).get("case", ["echo"])[0]
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append(headers)
        body = await _body(receive)
        if case == "teapot":
            await send(
                {
                    "type": "http.response.start",
                    "status": 418,
                    "headers": [(b"content-type", b"text/plain"), (b"x-upstream", b"yes")],
                }
            )
            await send({"type": "http.response.body", "body": b"I am a teapot"})
        elif case == "stream":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), (b"mcp-session-id", b"up-1")],
                }
            )
            await send({"type": "http.response.body", "body": b'event: message\ndata: {"n":1}\n\n', "more_body": True})
            try:
                await self.release.wait()
                await send(
                    {"type": "http.response.body", "body": b'event: message\ndata: {"n":2}\n\n', "more_body": True}
                )
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                self.stream_closed.set()
        elif case == "endless":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
            )
            await send({"type": "http.response.body", "body": b": open\n\n", "more_body": True})
            # Nothing more is sent; the stream ends when the connection does.
            while (await receive())["type"] != "http.disconnect":
                pass
            self.stream_closed.set()
        elif case == "hang":
            await anyio.Event().wait()
        elif case == "redirect":
            await send(
                {
                    "type": "http.response.start",
                    "status": 302,
                    "headers": [(b"location", b"http://169.254.169.254/latest/meta-data/"), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
        else:
            await send_json(
                send,
                200,
                {"method": scope["method"], "headers": headers, "body": body.decode()},
                [(b"mcp-session-id", headers.get("mcp-session-id", "none").encode())],
            )


class TokenEndpoint:
    """A stand-in for Entra ID's token endpoint: checks the federated assertion, hands out numbered tokens."""

    def __init__(self, assertion: str, *, fail_first: int = 0, expires_in: int = 3600) -> None:
        self.assertion = assertion
        self.fail_first = fail_first
        self.expires_in = expires_in
        self.requests: list[dict[str, list[str]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        form = parse_qs((await _body(receive)).decode())
        self.requests.append(form)
        if len(self.requests) <= self.fail_first:
            error = {
                "error": "invalid_client",
                "error_description": "AADSTS70021: No matching federated identity record found",
            }
            await send_json(send, 400, error)
            return
        if form.get("client_assertion") != [self.assertion] or form.get("grant_type") != ["client_credentials"]:
            await send_json(send, 401, {"error": "invalid_client", "error_description": "bad assertion"})
            return
        token = f"token-{len(self.requests)}"
        await send_json(send, 200, {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token})


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), so the token endpoint can be https as azure-identity requires."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certfile, keyfile
