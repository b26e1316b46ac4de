"""The audit trail's capture: after each operation a staff member, an integration client or
a service asked for, the service writes an `evt.<service>.audit.recorded` event to its outbox
(who, what, on which object, concerning whom, from where, the request and the reply with
personal fields masked). The audit service (services/audit) consumes them into its
append-only, hash-chained log. A resident's own actions are not recorded here.

Which operations: every one that changes something (also when refused: `refused` with the
error's code), and every read by staff (a view of whatever it shows, customers' personal data
included). Reads by services and integration clients are not views of a person.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import msgspec

from shared.contracts.audit import AUDIT_EVENTS, AuditRecord
from shared.contracts.common import Principal, RequestContext
from shared.errors import ServiceError
from shared.events import add_event
from shared.metrics import BACKGROUND_FAILURES

log = logging.getLogger(__name__)

# Fields whose values are personal data or secrets: recorded as "[masked]" (the person an
# action concerns is kept, as a pseudonym, by the audit service).
PERSONAL_FIELDS = frozenset(
    {
        "customer",
        "owner",
        "name",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "street_address",
        "postal_code",
        "patron_id",
        "card_number",
        "card_last4",
        "pin",
        "password",
        "secret",
        "token",
        "client_secret",
        "signature",
        "body",
        "ssn",
        "personal_identity_code",
    }
)
MASK = "[masked]"
MAX_VALUE_BYTES = 16_384  # a larger request or reply is recorded by its size only
NOT_OBJECTS = frozenset({"idempotency_key", "request_id", "event_id"})
PERSON_FIELDS = ("customer", "owner")
ERASURES = frozenset({"erase_personal_data"})


def masked(value: Any) -> Any:
    """`value` (plain JSON data) with personal fields masked, at every level."""
    if isinstance(value, dict):
        return {
            k: (MASK if k in PERSONAL_FIELDS and v not in (None, "") else masked(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def recorded(value: Any) -> Any:
    """A request or reply as it is recorded: plain JSON, masked, at most MAX_VALUE_BYTES."""
    if value is None:
        return None
    plain = msgspec.to_builtins(value)
    if isinstance(plain, dict):
        plain = {k: v for k, v in plain.items() if k != "idempotency_key"}
    plain = masked(plain)
    size = len(msgspec.json.encode(plain))
    if size > MAX_VALUE_BYTES:
        return {"omitted": "too large", "bytes": size}
    return plain


def object_of(request: Any, reply: Any = None) -> tuple[str | None, str | None]:
    """(type, id) of what an operation is about: the request's first `<type>_id` field, else
    the reply's (`id` of a reply counts as the reply type's)."""
    for source in (request, reply):
        plain = msgspec.to_builtins(source) if source is not None else None
        if not isinstance(plain, dict):
            continue
        for key, value in plain.items():
            if key.endswith("_id") and key not in NOT_OBJECTS and isinstance(value, str | int):
                return key[: -len("_id")], str(value)
        found = plain.get("id")
        if source is reply and isinstance(found, str | int):
            return type(reply).__name__.lower(), str(found)
    return None, None


def person_of(*values: Any) -> str | None:
    """The subject of the resident concerned: the first `customer` (or `owner`) found at the
    top level of the request or the reply, or one level down."""
    for value in values:
        plain = msgspec.to_builtins(value) if value is not None else None
        if not isinstance(plain, dict):
            continue
        for candidate in (plain, *(v for v in plain.values() if isinstance(v, dict))):
            for key in PERSON_FIELDS:
                found = candidate.get(key)
                if isinstance(found, str) and found:
                    return found
    return None


def audited(principal: Principal | None) -> bool:
    """Staff, integration clients and services are audited; a resident's own actions not."""
    if principal is None:
        return False
    if principal.kind in ("api_key", "service"):
        return True
    return any(role != "resident" for role in principal.roles)


def record_of(
    service: str,
    operation: str,
    read_only: bool,
    ctx: RequestContext,
    request: Any,
    reply: Any,
    error: ServiceError | None,
) -> AuditRecord | None:
    """What to record of one operation, or None (not audited)."""
    principal = ctx.principal
    if principal is None or not audited(principal):
        return None
    if read_only and (principal.kind != "user" or error is not None):
        return None  # a service's or a client's read, or a view that showed nothing
    object_type, object_id = object_of(request, reply)
    return AuditRecord(
        service=service,
        action=f"{service}.v1.{operation}",
        kind="view" if read_only else ("refused" if error is not None else "change"),
        outcome="ok" if error is None else error.code,
        actor=principal.subject,
        actor_kind=principal.kind,
        actor_roles=tuple(principal.roles),
        object_type=object_type,
        object_id=object_id,
        # an erasure's record must not name the person it erased (the log's own entry of it
        # names their pseudonym until their key is forgotten)
        person=None if operation in ERASURES else person_of(request, reply),
        request_id=ctx.request_id,
        client_address=ctx.client_address,
        changes=None if read_only else recorded(request),
        after=recorded(reply) if not read_only else _shown(reply),
    )


def _shown(reply: Any) -> Any:
    """What a view showed: the object ids in it, not the data (the log is no copy of it)."""
    plain = msgspec.to_builtins(reply) if reply is not None else None
    if isinstance(plain, dict):
        return {"fields": sorted(plain)}
    return None


class AuditTrail:
    """The hooks `shared.messaging.Responder` calls around each operation: `before` writes
    ahead an `attempt` record of a change (committed before the change runs: if it cannot be
    written the operation is refused, so no change is ever made without a record, even when
    the process dies before the outcome is recorded); the call itself, after the operation,
    records the outcome."""

    def __init__(
        self, pool: asyncpg.Pool, service: str, views: frozenset[str] = frozenset()
    ) -> None:
        self.pool = pool
        self.service = service
        self.views = views

    async def before(
        self, operation: str, read_only: bool, ctx: RequestContext, request: Any
    ) -> None:
        """The write-ahead record of a change an audited principal asked for."""
        if read_only or operation in self.views:
            return
        record = record_of(self.service, operation, False, ctx, request, None, None)
        event_type = AUDIT_EVENTS.get(f"evt.{self.service}.audit.recorded")
        if record is None or event_type is None:
            return
        attempt = msgspec.structs.replace(record, kind="attempt", outcome="pending", after=None)
        async with self.pool.acquire() as conn:
            await add_event(conn, event_type(record=attempt), ctx)  # type: ignore[call-arg]

    async def __call__(
        self,
        operation: str,
        read_only: bool,
        ctx: RequestContext,
        request: Any,
        reply: Any,
        error: ServiceError | None,
    ) -> None:
        shows = read_only or operation in self.views
        record = record_of(self.service, operation, shows, ctx, request, reply, error)
        if record is None:
            return
        event_type = AUDIT_EVENTS.get(f"evt.{self.service}.audit.recorded")
        if event_type is None:
            return  # a service the audit service does not follow (e.g. a test's probe)
        try:
            async with self.pool.acquire() as conn:
                await add_event(conn, event_type(record=record), ctx)  # type: ignore[call-arg]
        except Exception:  # the action happened; its record is lost: loud, never silent
            BACKGROUND_FAILURES.labels(self.service, "audit record").inc()
            log.exception(
                "could not record %s.v1.%s in the audit trail (request %s)",
                self.service,
                operation,
                ctx.request_id,
            )
