"""Domain errors with stable codes; pure, so every domain module may import them."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A rule said no. `code` is stable and documented; `status` is the HTTP mapping."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(self, code: str | None = None, detail: str = "", **extra: Any) -> None:
        self.code = code or self.default_code
        self.detail = detail or self.code.replace("_", " ")
        self.extra = extra
        super().__init__(f"{self.code}: {self.detail}")


class BadRequest(DomainError):
    status = 400
    default_code = "bad_request"


class UnsupportedMediaType(DomainError):
    status = 415
    default_code = "unsupported_media_type"


class Invalid(DomainError):
    status = 422
    default_code = "validation_failed"


class Unauthorized(DomainError):
    status = 401
    default_code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class TooLarge(DomainError):
    status = 413
    default_code = "payload_too_large"


class RateLimited(DomainError):
    status = 429
    default_code = "rate_limited"

    def __init__(self, code: str | None = None, detail: str = "", *, retry_after: float) -> None:
        super().__init__(code, detail, retry_after=round(retry_after, 3))
        self.retry_after = retry_after


class Unavailable(DomainError):
    status = 503
    default_code = "unavailable"
