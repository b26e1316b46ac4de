"""The staff admin's audit trail page: `/staff/audit` searches the append-only log by who
acted, whom it concerned (a resident's subject, found by their pseudonym), which object and
when, newest first, a page at a time; and checks the hash chain.

The search and the check are `audit.v1.search` and `audit.v1.verify` (admins only: the audit
service refuses anyone else, and the page's guard too). Filters come from a GET form, so a
search is a link; a bad filter is shown on the form, naming the field, with the input kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.params import FromQuery

from services.gateway.auth import allow
from services.gateway.web.ops import fetch
from services.gateway.web.render import HELSINKI, local_time, page
from shared.contracts import audit as au
from shared.errors import ValidationFailed

Req = Request[Any, Any, Any]
ADMIN = allow("admin")
PAGE_SIZE = 50
FILTERS = ("actor", "person", "object_type", "object_id", "action", "since", "until")


@dataclass(frozen=True)
class EntryRow:
    """One log entry as a row of the page's table."""

    seq: int
    when: str
    service: str
    action: str
    kind: str
    outcome: str
    actor: str
    object: str
    person: str
    client_address: str
    request_id: str


@dataclass(frozen=True)
class AuditPage:
    rows: list[EntryRow]
    older: str | None  # the link to the next (older) page, filters kept
    verified: au.VerifyReply | None  # the chain check's answer, when asked


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("a date as YYYY-MM-DD", field=field) from None


def search_request(filters: dict[str, str], before_seq: int | None) -> dict[str, Any]:
    """The `audit.v1.search` request of the page's filters (days in Turku's time)."""
    since, until = _day(filters["since"], "since"), _day(filters["until"], "until")
    if since and until and until < since:
        raise ValidationFailed("the end is before the start", field="until")
    return {
        **{
            k: filters[k] or None for k in ("actor", "person", "object_type", "object_id", "action")
        },
        "since": datetime.combine(since, time(), HELSINKI).isoformat() if since else None,
        "until": (
            datetime.combine(until + timedelta(days=1), time(), HELSINKI).isoformat()
            if until
            else None
        ),
        "before_seq": before_seq,
        "limit": PAGE_SIZE,
    }


def row_of(entry: au.AuditEntry) -> EntryRow:
    return EntryRow(
        seq=entry.seq,
        when=local_time(entry.recorded_at, "%d.%m.%Y %H:%M:%S"),
        service=entry.service,
        action=entry.action,
        kind=entry.kind,
        outcome=entry.outcome,
        actor=entry.actor,
        object=f"{entry.object_type or ''} {entry.object_id or ''}".strip(),
        person=entry.person or "",
        client_address=entry.client_address or "",
        request_id=entry.request_id,
    )


def _older_link(filters: dict[str, str], next_before_seq: int | None) -> str | None:
    if not next_before_seq:
        return None
    kept = {k: v for k, v in filters.items() if v}
    return "/staff/audit?" + urlencode({**kept, "before_seq": next_before_seq})


@get("/staff/audit", name="web:audit", guards=ADMIN)
async def audit_page(
    request: Req,
    actor: FromQuery[str] = "",
    person: FromQuery[str] = "",
    object_type: FromQuery[str] = "",
    object_id: FromQuery[str] = "",
    action: FromQuery[str] = "",
    since: FromQuery[str] = "",
    until: FromQuery[str] = "",
    before_seq: FromQuery[int | None] = None,
    verify: FromQuery[str] = "",
) -> Response[str]:
    filters = {
        "actor": actor.strip(),
        "person": person.strip(),
        "object_type": object_type.strip(),
        "object_id": object_id.strip(),
        "action": action.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    kept = {"values": {k: [v] for k, v in filters.items()}}
    try:
        reply = await fetch(
            request, "audit_search", au.AuditSearchReply, **search_request(filters, before_seq)
        )
    except ValidationFailed as refused:
        field = refused.field if refused.field in FILTERS else ""
        form = {**kept, "code": refused.code, "field": field, "details": refused.details}
        empty = AuditPage(rows=[], older=None, verified=None)
        return page(request, "staff/audit.html", status_code=422, form=form, view=empty)
    verified = await fetch(request, "audit_verify", au.VerifyReply) if verify else None
    view = AuditPage(
        rows=[row_of(e) for e in reply.entries],
        older=_older_link(filters, reply.next_before_seq),
        verified=verified,
    )
    return page(request, "staff/audit.html", form=kept, view=view)


ROUTES = [audit_page]
