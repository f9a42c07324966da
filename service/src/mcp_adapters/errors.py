"""One exception hierarchy for everything a caller can get wrong or run into.

The API maps every `ServiceError` to an RFC 9457 `application/problem+json`
response at one boundary (`api/problems.py`); nothing else builds error responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class ConfigurationError(Exception):
    """The service's own settings cannot work; raised at startup, never for a request."""


class ServiceError(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class BadRequest(ServiceError):
    status = 400
    title = "Bad request"
    slug = "bad-request"


class MalformedBody(BadRequest):
    title = "Malformed request body"
    slug = "malformed-body"


class Unauthenticated(ServiceError):
    status = 401
    title = "Authentication required"
    slug = "unauthenticated"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class UntrustedServer(Forbidden):
    title = "Untrusted server"
    slug = "untrusted-server"


class NotFound(ServiceError):
    status = 404
    title = "Not found"
    slug = "not-found"


class MethodNotAllowed(ServiceError):
    status = 405
    title = "Method not allowed"
    slug = "method-not-allowed"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    title = "Request body too large"
    slug = "payload-too-large"


class UnsupportedMediaType(ServiceError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class ValidationFailed(ServiceError):
    status = 422
    title = "Invalid adapter"
    slug = "validation"


class NotImplementedYet(ServiceError):
    status = 501
    title = "Not available in this installation"
    slug = "not-implemented"


class BadGateway(ServiceError):
    status = 502
    title = "Adapter unreachable"
    slug = "bad-gateway"


class Unavailable(ServiceError):
    status = 503
    title = "Service unavailable"
    slug = "unavailable"
