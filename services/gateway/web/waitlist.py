"""The waiting list's pages: join from a taken slot of a resource's week, see one's entries
with their place in the queue, pay an offer (the reservations page's "Pay"), decline it or
leave the queue. Every form posts and redirects (303)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from services.gateway.auth import require_principal
from services.gateway.web.forms import read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page
from services.gateway.web.resident import _resource_names
from shared.contracts import booking as bk

Req = Request[Any, Any, Any]


@dataclass(frozen=True, slots=True)
class WaitlistRow:
    """A waiting-list entry with its resource's and unit's names (entries carry only ids)."""

    entry: bk.WaitlistEntryView
    resource_name: bk.LocalizedText | None
    unit_name: bk.LocalizedText | None


def waitlist_row(
    entry: bk.WaitlistEntryView, resources: dict[str, bk.ResourceSummary]
) -> WaitlistRow:
    found = resources.get(str(entry.resource_id))
    return WaitlistRow(
        entry=entry,
        resource_name=found.name if found else None,
        unit_name=found.unit_name if found else None,
    )


@post("/waitlist", name="web:join_waitlist")
async def join_waitlist(request: Req) -> Redirect:
    """A taken slot of the week page (`slot` = "starts|ends" of the button pressed)."""
    require_principal(request)
    form = await read_form(request)
    slot = str(form.get("slot") or "")
    starts_at, _, ends_at = slot.partition("|")
    key = form.get("key")  # one per page; each slot's button its own request
    await fetch(
        request,
        "join_waitlist",
        bk.WaitlistEntryView,
        resource_id=form.get("resource_id"),
        starts_at=starts_at,
        ends_at=ends_at,
        idempotency_key=f"{key}-{slot}"[:255] if key else new_key(),
    )
    return Redirect(path="/waitlist?done=done_waitlist_joined", status_code=303)


@get("/waitlist", name="web:waitlist")
async def waitlist(request: Req) -> Response[str]:
    require_principal(request)
    reply = await fetch(request, "my_waitlist", bk.WaitlistList)
    names = await _resource_names(request)
    entries = [waitlist_row(e, names) for e in reply.entries]
    return page(request, "waitlist.html", entries=entries, key=new_key())


@post("/waitlist/{entry_id:str}/leave", name="web:leave_waitlist")
async def leave_waitlist(request: Req, entry_id: FromPath[str]) -> Redirect:
    require_principal(request)
    form = await read_form(request)
    key = form.get("key") or new_key()
    await fetch(
        request, "leave_waitlist", bk.WaitlistEntryView, entry_id=entry_id, idempotency_key=key
    )
    return Redirect(path="/waitlist?done=done_waitlist_left", status_code=303)


@post("/waitlist/{entry_id:str}/decline", name="web:decline_offer")
async def decline_offer(request: Req, entry_id: FromPath[str]) -> Redirect:
    require_principal(request)
    form = await read_form(request)
    key = form.get("key") or new_key()
    await fetch(
        request, "decline_offer", bk.WaitlistEntryView, entry_id=entry_id, idempotency_key=key
    )
    return Redirect(path="/waitlist?done=done_offer_declined", status_code=303)


ROUTES = [join_waitlist, waitlist, leave_waitlist, decline_offer]
