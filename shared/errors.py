"""Coded errors shared by every service.

A service raises these from its domain; the responder maps them once to the reply envelope
(`ErrorBody`), the requester turns an error reply back into the same type, and the gateway maps
the code once to an HTTP status.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """The error half of the reply envelope: a stable machine `code`, a message, details."""

    code: str
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class ServiceError(Exception):
    """Base of all coded errors. `code` is stable; `status` is the HTTP status it maps to."""

    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details)
        if field is not None:
            self.details["field"] = field

    @property
    def field(self) -> str | None:
        return self.details.get("field")

    def to_body(self) -> ErrorBody:
        return ErrorBody(code=self.code, message=self.message, details=self.details)

    @staticmethod
    def from_body(body: ErrorBody, status: str | int | None = None) -> ServiceError:
        """The error a reply carries. A code this side does not know keeps its code and, when
        the replying service said it was the client's (a 4xx `status`), that status: a new
        error of one service is never a 500 at the gateway."""
        cls = ERRORS_BY_CODE.get(body.code, ServiceError)
        error = cls(body.message, **body.details)
        if cls is ServiceError:
            error.code = body.code  # type: ignore[misc]  # keep an unknown code as it came
            told = int(str(status)) if str(status or "").isdigit() else 0
            if 400 <= told < 500:
                error.status = told  # type: ignore[misc]
        return error

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}: {self.message})"


class ValidationFailed(ServiceError):
    code = "validation_failed"
    status = 422


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403


class Unauthenticated(ServiceError):
    code = "unauthenticated"
    status = 401


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class SlotUnavailable(ServiceError):
    code = "slot_unavailable"
    status = 409


class LimitReached(ServiceError):
    """A per-customer limit (e.g. open holds) would be exceeded; `details["limit"]` names it."""

    code = "limit_reached"
    status = 409


class HoldExpired(ServiceError):
    code = "hold_expired"
    status = 410


class Gone(ServiceError):
    code = "gone"
    status = 410


class PaymentFailed(ServiceError):
    code = "payment_failed"
    status = 402


class Unavailable(ServiceError):
    """A collaborator did not answer in time (or nobody listens): retry later."""

    code = "unavailable"
    status = 503


class RateLimited(ServiceError):
    code = "rate_limited"
    status = 429


ERRORS_BY_CODE: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in (
        ValidationFailed,
        NotFound,
        Forbidden,
        Unauthenticated,
        Conflict,
        SlotUnavailable,
        LimitReached,
        HoldExpired,
        Gone,
        PaymentFailed,
        Unavailable,
        RateLimited,
    )
}


def status_for(code: str) -> int:
    """The HTTP status for a stable error code (500 for unknown codes)."""
    cls = ERRORS_BY_CODE.get(code)
    return cls.status if cls else 500
