"""Download entitlements and their signed, expiring tokens:
`<entitlement id>.<expires unix>.<hmac>` (HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.errors import Forbidden, Gone


@dataclass(frozen=True, kw_only=True)
class Entitlement:
    """A buyer's right to download a GIS line's file, a limited number of times until a time."""

    id: uuid.UUID
    line_id: uuid.UUID
    order_id: uuid.UUID
    customer: str
    file_name: str
    file_id: str | None
    expires_at: datetime
    max_downloads: int
    downloads: int = 0

    @property
    def downloads_left(self) -> int:
        return max(0, self.max_downloads - self.downloads)


def _mac(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: str, entitlement_id: uuid.UUID, expires_at: datetime) -> str:
    payload = f"{entitlement_id.hex}.{int(expires_at.timestamp())}"
    return f"{payload}.{_mac(secret, payload)}"


def verify(secret: str, token: str, now: datetime | None = None) -> uuid.UUID:
    """The entitlement id of a genuine, unexpired token; Forbidden if forged, Gone if expired."""
    try:
        ident, expires, mac = token.split(".")
        entitlement_id = uuid.UUID(hex=ident)
        expires_unix = int(expires)
    except ValueError:
        raise Forbidden("this download link is not valid") from None
    if not hmac.compare_digest(mac, _mac(secret, f"{ident}.{expires}")):
        raise Forbidden("this download link is not valid")
    now = now or datetime.now(UTC)
    if now.timestamp() >= expires_unix:
        raise Gone("this download link has expired", reason="expired")
    return entitlement_id
