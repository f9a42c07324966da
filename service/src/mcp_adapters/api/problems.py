"""The boundary where every error becomes an `application/problem+json` response (RFC 9457).

Nothing a caller sends produces a 500 or a stack trace: request validation,
malformed JSON, unknown or server-managed fields, oversized bodies and unknown
routes all map to 4xx problems that name the field and the fix.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mcp_infra.spec import SERVER_MANAGED_FIELDS, is_adapter_name
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_adapters.db.engine import UNAVAILABLE, why_unavailable
from mcp_adapters.errors import (
    BadRequest,
    MalformedBody,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
)

logger = logging.getLogger("mcp_adapters.api")
MEDIA_TYPE = "application/problem+json"
# What a 503 for an unavailable database tells the caller to wait.
RETRY_AFTER_SECONDS = 5
TYPE_BASE = "https://mcp-adapters.dev/problems/"


def problem_response(exc: ServiceError, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + exc.slug,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
    }
    if instance:
        body["instance"] = instance
    if exc.errors:
        body["errors"] = exc.errors
    body.update(exc.extra)
    return JSONResponse(body, status_code=exc.status, headers=exc.headers, media_type=MEDIA_TYPE)


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _from_validation(exc: RequestValidationError) -> ServiceError:
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        kind = error.get("type", "")
        if kind == "json_invalid":
            where = error.get("ctx", {}).get("error", "")
            return MalformedBody(f"the request body is not valid JSON ({where}); send one JSON object")
        field = _field(error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if kind == "extra_forbidden":
            leaf = field.rsplit(".", 1)[-1]
            message = (
                f"{leaf} is managed by the server: remove it from the request"
                if leaf in SERVER_MANAGED_FIELDS
                else f"unknown field {leaf!r}: remove it (field names are camelCase, e.g. imageName)"
            )
        elif kind == "missing" and field == "body":
            return MalformedBody("a JSON body is required: send the adapter as a JSON object")
        elif kind == "model_attributes_type" and field == "body":
            if isinstance(error.get("input"), bytes | str):
                return UnsupportedMediaType("send the adapter as JSON with Content-Type: application/json")
            return ValidationFailed("the body must be a JSON object describing an adapter")
        errors.append({"field": field, "message": message, "type": kind})
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return ValidationFailed(f"the request has invalid fields: {fields}", errors=errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(_from_validation(exc), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _BY_STATUS.get(exc.status_code, BadRequest if exc.status_code < 500 else ServiceError)
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}: see /docs for the API"
        return problem_response(kind(detail, headers=dict(exc.headers or {})), request.url.path)

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("%s %s: %s", request.method, request.url.path, why_unavailable(exc, detail=True))
        unavailable = Unavailable(
            f"{why_unavailable(exc)}; try again shortly", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
        return problem_response(unavailable, request.url.path)

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(ServiceError("something went wrong on our side; it has been logged"), request.url.path)


class BodyLimit:
    """Refuse request bodies above a limit, by Content-Length (before reading any of it) or by counting
    what streams in.

    Only the data plane route itself is exempt (`POST /adapters/{name}/mcp`): the bridge enforces its own
    limits there and bodies pass through unbuffered. Matching the route exactly matters: an adapter may be
    called `mcp`, and `PUT /adapters/mcp` is an API call like any other.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_data_plane(scope):
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"the request body is larger than {self.max_bytes} bytes")
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await problem_response(too_large, scope["path"])(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTPException, so FastAPI's body parsing lets it through to the handler above.
                    raise StarletteHTTPException(413, f"the request body is larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)


_DATA_PLANE = re.compile(r"/adapters/([^/]+)/mcp")


def _is_data_plane(scope: Scope) -> bool:
    found = _DATA_PLANE.fullmatch(scope["path"]) if scope["method"] == "POST" else None
    return found is not None and is_adapter_name(found.group(1))


_BY_STATUS: dict[int, type[ServiceError]] = {
    400: BadRequest,
    401: Unauthenticated,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}
