"""Parts of every message: the acting principal, the request context, the event base and the
registry that decodes an event by its subject."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Literal

import msgspec

Role = Literal["resident", "staff", "library_clerk", "gis_clerk", "finance", "admin", "system"]
Loa = Literal["low", "substantial", "high"]

# Header names carried end to end (gateway -> service -> service, and on events).
H_TRACEPARENT = "traceparent"
H_REQUEST_ID = "x-request-id"
H_PRINCIPAL = "x-principal"
H_IDEMPOTENCY_KEY = "idempotency-key"
H_CLIENT_ADDRESS = "x-client-address"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who acts, as the gateway verified it (or a service acting on its own behalf).

    `departments` scopes staff roles to merchants (e.g. "sports"); `units` to booking units.
    Integration clients (API keys) have `kind="api_key"` and `scopes`.
    """

    subject: str
    roles: tuple[Role, ...] = ()
    kind: Literal["user", "api_key", "service"] = "user"
    departments: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    loa: Loa | None = None
    home_municipality: str | None = None  # municipality code, Turku = "853"
    name: str | None = None
    email: str | None = None
    locale: str = "fi"

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_system(self) -> bool:
        return self.kind == "service"


def system_principal(service: str) -> Principal:
    """The principal a service uses when it acts on its own (consumers, sweepers)."""
    return Principal(subject=f"system:{service}", roles=("system",), kind="service")


class RequestContext(msgspec.Struct, frozen=True, kw_only=True):
    """What travels with a request besides its body."""

    principal: Principal | None = None
    request_id: str = ""
    traceparent: str | None = None
    client_address: str | None = None  # the caller's address as the gateway determined it


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event. Subclasses set `subject` (`evt.<service>.<entity>.<fact>`)."""

    subject: ClassVar[str] = ""
    event_id: uuid.UUID = msgspec.field(default_factory=new_id)
    occurred_at: datetime = msgspec.field(default_factory=utcnow)
    schema_version: int = 1


_registry: dict[str, type[Event]] = {}


def register(*event_types: type[Event]) -> None:
    """Make events decodable by subject (done by each contracts module at import)."""
    for event_type in event_types:
        if not event_type.subject.startswith("evt."):
            raise ValueError(f"{event_type.__name__} has no evt.* subject")
        _registry[event_type.subject] = event_type


def event_type_for(subject: str) -> type[Event]:
    try:
        return _registry[subject]
    except KeyError:
        raise LookupError(f"no event type registered for {subject}") from None


def decode_event(subject: str, data: bytes) -> Event:
    return msgspec.json.decode(data, type=event_type_for(subject))


class Empty(msgspec.Struct, frozen=True):
    """A request or reply without fields."""


class Health(msgspec.Struct, frozen=True, kw_only=True):
    service: str
    status: Literal["ok", "degraded"]
    database: bool
    version: str
    instance: str
