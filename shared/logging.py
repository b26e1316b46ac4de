"""Structured logging without personal data or secrets.

Log records name ids (reservation, order, payment, request id), never names, e-mails, tokens,
card data or secrets. `redact` is applied to any mapping before it is logged.
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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
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
            logging.Formatter(f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that would otherwise log request bodies or URLs with tokens.
    for noisy in ("httpx", "httpcore", "stripe", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
