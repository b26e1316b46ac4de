"""Webhooks to integrators: which events a department may subscribe to, what a delivery
carries and how it is signed (Standard Webhooks), the delivery's states and its back-off.

Pure rules: no I/O. A delivery is `pending` until the receiver answers 2xx (`delivered`) or
tries have gone on for `give_up_after_s` (`failed`); staff may replay a delivered or failed
one (`pending` again, a new round of tries)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from shared.contracts import booking as b
from shared.contracts.common import Event
from shared.errors import ValidationFailed
from shared.state_machine import StateMachine

SECRET_PREFIX = "whsec_"  # noqa: S105  # the prefix of every secret, not one


@dataclass(frozen=True)
class Routing:
    """Whose event it is (the department subscribed) and what orders its deliveries."""

    merchant_id: str
    ordering_key: str


def _reservation(event: Any) -> Routing:
    return Routing(event.merchant_id, f"reservation:{event.reservation_id}")


def _unit(event: Any) -> Routing:
    return Routing(event.merchant_id, f"unit:{event.unit_id}")


def _resource(event: Any) -> Routing:
    return Routing(event.merchant_id, f"resource:{event.resource_id}")


# Subject -> how to route its event. Only events that belong to one department: a
# subscription never sees another department's reservations. (shared/contracts/webhooks.py
# lists the same subjects as `WebhookEventType`; a unit test keeps them equal.)
WEBHOOK_EVENTS: dict[str, Callable[[Any], Routing]] = {
    **{
        t.subject: _reservation
        for t in (
            b.ReservationHeld,
            b.ReservationRequested,
            b.ReservationApproved,
            b.ReservationDenied,
            b.ReservationConfirmed,
            b.ReservationCancelled,
            b.ReservationExpired,
            b.ReservationConfirmFailed,
            b.ReservationNoShow,
        )
    },
    b.UnitSaved.subject: _unit,
    b.ResourceSaved.subject: _resource,
}


def routing(event: Event) -> Routing | None:
    """Where the event goes (None: not an event integrators may subscribe to)."""
    route = WEBHOOK_EVENTS.get(type(event).subject)
    return route(event) if route is not None else None


def payload(event: Event) -> bytes:
    """The body POSTed: the envelope the Standard Webhooks specification recommends, with the
    event as it was published as its `data`."""
    return msgspec.json.encode(
        {"type": type(event).subject, "timestamp": event.occurred_at, "data": event}
    )


def new_secret(raw: bytes | None = None) -> str:
    """A subscription's signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(raw or secrets.token_bytes(32)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of
    `{id}.{timestamp}.{body}` keyed with the secret's base64-decoded bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
        "user-agent": "turku-city-services-webhooks/1",
    }


DeliveryState = Literal["pending", "delivered", "failed"]

TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "accepted"): "delivered",
    ("pending", "retry"): "pending",
    ("pending", "gave_up"): "failed",
    ("pending", "deactivated"): "failed",
    ("delivered", "replayed"): "pending",
    ("failed", "replayed"): "pending",
}
DELIVERIES: StateMachine[str, str] = StateMachine(
    TRANSITIONS, "a {state} delivery cannot be {event}"
)


def accepted(status: int | None) -> bool:
    """The receiver took it: any 2xx. No answer (refused, timeout) or any other status is
    tried again (a receiver's 4xx may be a deployment of theirs in progress)."""
    return status is not None and 200 <= status < 300


def retry_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Seconds before the next try after the `attempts`-th failed one: `base_s` doubling each
    time, at most `max_s`."""
    exponent = min(max(attempts, 1) - 1, 30)
    return float(min(base_s * (2**exponent), max_s))


def check_url(url: str, *, allow_insecure: bool) -> str:
    """The URL, or `ValidationFailed` naming `url`: https with a host and no credentials in it;
    outside development (`allow_insecure` False) never plain http, localhost or a private,
    loopback or link-local address (the delivery loop must not be pointed inside the city's
    network)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # a malformed port raises
    except ValueError:
        raise ValidationFailed("not a valid URL", field="url") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ValidationFailed("an https URL with a host", field="url")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ValidationFailed("no credentials or fragment in the URL", field="url")
    if allow_insecure:
        return url
    if parts.scheme != "https":
        raise ValidationFailed("the URL must be https", field="url")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise ValidationFailed("the URL must name a public host", field="url")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    if not address.is_global:
        raise ValidationFailed("the URL must name a public address", field="url")
    return url
