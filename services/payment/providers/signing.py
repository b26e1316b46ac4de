"""Stripe-like webhook signatures: header `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`."""

from __future__ import annotations

import hashlib
import hmac
import time

from services.payment.providers.base import InvalidSignature

TOLERANCE_S = 300


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(body: bytes, header: str, secret: str, tolerance_s: int = TOLERANCE_S) -> None:
    """Raise InvalidSignature unless `header` signs `body` with `secret` recently enough."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        raise InvalidSignature("the signature header has no timestamp") from None
    if abs(time.time() - t) > tolerance_s:
        raise InvalidSignature("the signature is too old")
    expected = sign(body, secret, t).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise InvalidSignature("the signature does not match the body")
