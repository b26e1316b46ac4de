"""Structured logging without personal data or secrets.

Log records name ids (reservation, order, payment, request id), never names, e-mails, tokens,
card data or secrets. `redact` is applied to any mapping before it is logged.

Every line carries the trace id and the request id of the work it belongs to (`RequestIds`):
the current OpenTelemetry span's trace when tracing is on, else the `traceparent` and
`x-request-id` of the request or event being handled (shared.messaging's context; the gateway
sets it per HTTP request); text lines end with `trace=<id> request=<id>`, JSON lines have
`trace_id` and `request_id`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import Any

SECRET_KEYS = frozenset(
    {
        "authorization",
        "cookie",
        "set-cookie",
        "password",
        "pin",
        "secret",
        "token",
        "api_key",
        "x-api-key",
        "x-principal",
        "email",
        "name",
        "phone",
        "card_number",
        "client_secret",
        "stripe-signature",
    }
)


def redact(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `values` with personal data and secrets replaced by '***'."""
    return {k: ("***" if k.lower() in SECRET_KEYS else v) for k, v in values.items()}


class RequestIds(logging.Filter):
    """Adds `trace_id`, `request_id` and `ids` (the text form, '' outside any request) to
    every record that passes the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id, request_id = current_ids()
        record.trace_id = trace_id
        record.request_id = request_id
        parts = []
        if trace_id:
            parts.append(f"trace={trace_id}")
        if request_id:
            parts.append(f"request={request_id}")
        record.ids = (" " + " ".join(parts)) if parts else ""
        return True


def current_ids() -> tuple[str, str]:
    """(trace id, request id) of the work the current task does ('' when none)."""
    from shared import tracing  # late: the launcher logs without the messaging stack
    from shared.messaging import current_context

    ctx = current_context.get()
    trace_id = tracing.trace_id_of(tracing.current_traceparent())
    if not trace_id and ctx is not None:
        trace_id = tracing.trace_id_of(ctx.traceparent)
    return trace_id, ctx.request_id if ctx is not None else ""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("trace_id", "request_id"):
            value = getattr(record, key, "")
            if value:
                entry[key] = value
        extra = getattr(record, "ctx", None)
        if isinstance(extra, Mapping):
            entry.update(redact(extra))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", fmt: str = "text", service: str = "") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        prefix = f"[{service}] " if service else ""
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s%(ids)s")
        )
    handler.addFilter(RequestIds())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that would otherwise log request bodies or URLs with tokens.
    for noisy in ("httpx", "httpcore", "stripe", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
