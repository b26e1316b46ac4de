"""One mapping from errors to `application/problem+json` (RFC 9457).

- `ServiceError` (from the services over NATS, or raised in the gateway): its stable `code`,
  its HTTP status, the field at fault; `Unavailable` adds `Retry-After`.
- Litestar's own HTTP errors (validation of bodies/queries, 404, 405, 413) through its
  `ProblemDetailsPlugin`, with the same members (`code`, `field`, `errors`).
- Anything else: 500 with the request id, logged, never a stack trace in the reply.

A field at fault is named as the OpenAPI document names it: a route's `opt["public_names"]`
maps the names its handler uses (`state_`, `idempotency_key`, a service's `signature`) to the
document's (`state`, `Idempotency-Key`, `Stripe-Signature`); an error about the whole JSON
body names the field `""` (the JSON Pointer of the whole document).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.types import ExceptionHandlersMap

from shared.errors import ServiceError, Unavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 5

TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Sign-in required",
    402: "Payment failed",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

CODES_BY_STATUS: dict[int, str] = {
    400: "validation_failed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}

_FIELD_IN_MESSAGE = re.compile(r"`\$\.([^`]+)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_MISSING_PARAMETER = re.compile(r"Missing required (query|path|header|cookie) parameter '([^']+)'")


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One field at fault."""

    field: Annotated[
        str,
        msgspec.Meta(
            description=(
                "As the OpenAPI document names it: `items[1].colour` (body), `limit` (query), "
                "`payment_id` (path), `Idempotency-Key` (header); `` for the whole body"
            )
        ),
    ]
    message: str
    source: Annotated[str, msgspec.Meta(description="body, query, path, header or service")]


class Problem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An error reply: `application/problem+json` (RFC 9457) with the stable `code`."""

    type: Annotated[str, msgspec.Meta(description="urn:problem:turku:<code>")]
    title: str
    status: int
    detail: str
    code: Annotated[
        str, msgspec.Meta(description="Stable machine code: not_found, slot_unavailable, ...")
    ]
    field: Annotated[str | None, msgspec.Meta(description="The field at fault")] = None
    errors: list[FieldError] | None = None
    details: dict[str, Any] | None = None


def problem_type(code: str) -> str:
    return f"urn:problem:turku:{code}"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> ProblemDetailsException:
    """A problem-details exception with our members (`code`, `field`, `errors`, `details`)."""
    extra: dict[str, Any] = {"code": code}
    if details:
        extra["details"] = details
    if field:
        extra["field"] = field
    if errors:
        extra["errors"] = errors
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S), **(headers or {})}
    return ProblemDetailsException(
        status_code=status,
        detail=detail,
        title=title or TITLES.get(status, "Error"),
        type_=problem_type(code),
        extra=extra,
        headers=headers,
    )


def from_service_error(exc: ServiceError) -> ProblemDetailsException:
    hidden = ("field", "subject", "status", "retry_after")
    details = {k: v for k, v in exc.details.items() if k not in hidden}
    if isinstance(exc, Unavailable) or exc.status >= 500:
        details = {}  # subjects and internals stay inside
    errors = None
    if exc.field:
        errors = [{"field": exc.field, "message": exc.message, "source": "service"}]
    status = exc.status if 400 <= exc.status < 600 else 500
    headers: dict[str, str] | None = None
    if status in (429, 503):
        headers = {"Retry-After": str(exc.details.get("retry_after", RETRY_AFTER_S))}
    elif status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="turku"'}
    return problem(
        status,
        exc.code,
        exc.message if status < 500 or isinstance(exc, Unavailable) else "internal error",
        field=exc.field,
        errors=errors,
        headers=headers,
        details=details or None,
    )


def _field_of(message: str, key: str | None) -> str | None:
    """The field at fault: `items[0].colour` for an unknown or missing field nested at
    `$.items[0]` (Litestar passes that path as the key), `items[0].places` for a wrong value."""
    at = _FIELD_IN_MESSAGE.search(message)
    path = at.group(1) if at else (None if key in (None, "", "data") else key)
    named = _UNKNOWN_FIELD.search(message) or _MISSING_FIELD.search(message)
    if named:
        return f"{path}.{named.group(1)}" if path else named.group(1)
    return path


def from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    status = exc.status_code
    code = CODES_BY_STATUS.get(status, "http_error")
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException) or (status == 400 and isinstance(exc.extra, list)):
        errors = []
        for item in exc.extra if isinstance(exc.extra, list) else []:
            message = str(item.get("message", "")) if isinstance(item, dict) else str(item)
            key = item.get("key") if isinstance(item, dict) else None
            if message == "'data'":  # Litestar's KeyError when there is no body at all
                message = "the request needs a JSON body"
            errors.append(
                {
                    "field": _field_of(message, key) or "",
                    "message": message.split(" - at ")[0],
                    "source": item.get("source", "body") if isinstance(item, dict) else "body",
                }
            )
        if not errors:
            errors = [{"field": "", "message": str(exc.detail), "source": "body"}]
        for error in errors:  # a required parameter left out: name it
            parameter = _MISSING_PARAMETER.search(error["message"])
            if parameter and not error["field"]:
                error["source"], error["field"] = parameter.group(1), parameter.group(2)
        return problem(
            400,
            "validation_failed",
            errors[0]["message"] or "the request is not valid",
            title="Invalid request",
            field=errors[0]["field"],
            errors=errors,
        )
    detail = exc.detail if status < 500 else "internal error"
    return problem(status, code, str(detail), headers=headers or None)


def public_fields(
    problem: ProblemDetailsException, names: Mapping[str, str]
) -> ProblemDetailsException:
    """`problem` with its fields named as the OpenAPI document names them (see the module)."""
    extra = problem.extra if isinstance(problem.extra, dict) else None
    if not names or extra is None:
        return problem
    if extra.get("field") in names:
        extra["field"] = names[extra["field"]]
    for error in extra.get("errors") or ():
        if error.get("field") in names:
            error["field"] = names[error["field"]]
    return problem


def _public_names(request: Request[Any, Any, Any]) -> Mapping[str, str]:
    handler = request.scope.get("route_handler")
    return (handler.opt.get("public_names") or {}) if handler is not None else {}


def validation_failed(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's validation of a route's body, query, path and headers, as problem+json."""
    return public_fields(from_http_exception(exc), _public_names(request)).to_response(request)


def service_failed(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    """A service's error (or the gateway's own), as problem+json."""
    return public_fields(from_service_error(exc), _public_names(request)).to_response(request)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request_id = request.scope.get("state", {}).get("request_id", "")
    log.error(
        "unhandled %s on %s %s (request %s)",
        type(exc).__name__,
        request.method,
        request.scope.get("path", ""),
        request_id,
        exc_info=exc,
    )
    return problem(500, "internal", f"internal error; quote request id {request_id}").to_response(
        request
    )


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={HTTPException: from_http_exception},
        )
    )


# Handlers that need the route (its public names); the plugin handles other HTTP errors.
EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    Exception: internal_error,
    ValidationException: validation_failed,
    ServiceError: service_failed,
}
