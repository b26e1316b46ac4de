"""The audit trail's messages: what a service records (`AuditRecord`, carried by the
`evt.<service>.audit.recorded` events through the outbox), the staff admin's search and the
chain check, and the residents' data rights (their data from every service, erasure)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from shared.contracts.common import Event, register

AuditKind = Literal["attempt", "change", "view", "refused", "event", "erasure"]
SubjectText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One staff or system action as the service that did it saw it. `person`: the subject of
    the resident the action concerned, when known (the audit service keeps only a pseudonym);
    `changes`: what was asked (the request, personal fields masked); `after`: what it gave."""

    service: str
    action: str  # the operation's subject, e.g. booking.v1.cancel
    # attempt: written ahead of a change (outcome `pending`); its outcome follows as change
    # or refused with the same request_id (an attempt alone: the process died in between)
    kind: Literal["attempt", "change", "view", "refused"]
    outcome: str  # ok, or the error code
    actor: str
    actor_kind: str
    actor_roles: tuple[str, ...] = ()
    object_type: str | None = None
    object_id: str | None = None
    person: str | None = None
    request_id: str = ""
    client_address: str | None = None
    changes: Any = None
    after: Any = None


class BookingAuditRecorded(Event, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.audit.recorded"
    record: AuditRecord


class CartAuditRecorded(Event, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.cart.audit.recorded"
    record: AuditRecord


class PaymentAuditRecorded(Event, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.payment.audit.recorded"
    record: AuditRecord


class InsightsAuditRecorded(Event, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.insights.audit.recorded"
    record: AuditRecord


class NotifyAuditRecorded(Event, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.notify.audit.recorded"
    record: AuditRecord


AUDIT_EVENTS: dict[str, type[Event]] = {
    e.subject: e
    for e in (
        BookingAuditRecorded,
        CartAuditRecorded,
        PaymentAuditRecorded,
        InsightsAuditRecorded,
        NotifyAuditRecorded,
    )
}
register(*AUDIT_EVENTS.values())


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the log as the staff admin sees it. `actor` is a staff member's subject,
    a service (`system:cart`) or a resident's pseudonym (`p:...`); `person` the pseudonym of
    the resident concerned; `before` what the log last recorded of the object."""

    seq: int
    recorded_at: datetime
    service: str
    action: str
    kind: AuditKind
    outcome: str
    actor: str
    actor_roles: list[str]
    object_type: str | None
    object_id: str | None
    person: str | None
    request_id: str
    client_address: str | None
    before: Any
    after: Any
    changes: Any
    hash: str


class AuditSearchRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Entries by who acted (`actor`: a staff member's subject), whom it concerned (`person`:
    a resident's subject, looked up by their pseudonym), which object, and when."""

    actor: SubjectText | None = None
    person: SubjectText | None = None
    object_type: Annotated[str, msgspec.Meta(min_length=1, max_length=60)] | None = None
    object_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    action: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: Annotated[int, msgspec.Meta(ge=1)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100


class AuditSearchReply(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[AuditEntry]
    next_before_seq: int | None = None


class VerifyRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Check the chain from its first entry (or from `from_seq`)."""

    from_seq: Annotated[int, msgspec.Meta(ge=1)] | None = None


class VerifyReply(msgspec.Struct, frozen=True, kw_only=True):
    """`ok` when every entry's hash is the hash of its content and of the one before it;
    else `first_bad_seq` names where the chain breaks."""

    ok: bool
    checked: int
    last_seq: int | None = None
    first_bad_seq: int | None = None
    problem: str | None = None


# --- Residents' data (GDPR) -------------------------------------------------------------


class PersonalDataRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Internal (audit -> each service): everything the service holds about `customer`."""

    customer: SubjectText


class PersonalData(msgspec.Struct, frozen=True, kw_only=True):
    """One service's data about a person: table -> rows (JSON)."""

    service: str
    tables: dict[str, list[dict[str, Any]]]


class ErasePersonalDataRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """Internal (audit -> each service): replace `customer` by `pseudonym` everywhere, remove
    what is only about the person, keep the accounting records (amounts, dates, dimensions)."""

    customer: SubjectText
    pseudonym: Annotated[str, msgspec.Meta(pattern=r"^erased:[0-9a-f]{32}$")]


class StalePersonalDataRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """Internal (audit's retention job -> each service): the customers whose every record is
    older than `older_than_days` (their data is due for erasure); with `among`, which of those
    customers have nothing newer here."""

    older_than_days: Annotated[int, msgspec.Meta(ge=1, le=36500)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 200
    among: list[str] | None = None  # only these (also those the service does not know)


class StaleCustomers(msgspec.Struct, frozen=True, kw_only=True):
    customers: list[str]


class ErasedCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Rows pseudonymised and rows removed, per table."""

    service: str
    pseudonymised: dict[str, int]
    removed: dict[str, int]


class MyDataRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The signed-in resident's own data from every service."""


class MyData(msgspec.Struct, frozen=True, kw_only=True):
    """All the suite holds about the resident: per service its tables' rows, and the audit
    entries that concern them (by their pseudonym)."""

    subject: str
    generated_at: datetime
    services: dict[str, PersonalData]
    audit_entries: list[AuditEntry]


class EraseRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Erase a resident's personal data: the signed-in resident's own (no `customer`), or as
    an admin the resident named by `customer`. `confirm` must be true."""

    customer: SubjectText | None = None
    confirm: bool = False


class EraseReply(msgspec.Struct, frozen=True, kw_only=True):
    pseudonym: str
    services: list[ErasedCounts]
