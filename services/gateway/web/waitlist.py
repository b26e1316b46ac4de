"""The waiting list's pages: join from a taken slot of a resource's week, see one's entries
with their place in the queue, pay an offer (the reservations page's "Pay"), decline it or
leave the queue. Every form posts and redirects (303)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from services.gateway.auth import require_principal
from services.gateway.web.forms import read_form
from services.gateway.web.ops import call, new_key
from services.gateway.web.render import page
from services.gateway.web.resident import _resource_names, _with_place

Req = Request[Any, Any, Any]


@post("/waitlist", name="web:join_waitlist")
async def join_waitlist(request: Req) -> Redirect:
    """A taken slot of the week page (`slot` = "starts|ends" of the button pressed)."""
    require_principal(request)
    form = await read_form(request)
    slot = str(form.get("slot") or "")
    starts_at, _, ends_at = slot.partition("|")
    key = form.get("key")  # one per page; each slot's button its own request
    await call(
        request,
        "join_waitlist",
        resource_id=form.get("resource_id"),
        starts_at=starts_at,
        ends_at=ends_at,
        idempotency_key=f"{key}-{slot}"[:255] if key else new_key(),
    )
    return Redirect(path="/waitlist?done=done_waitlist_joined", status_code=303)


@get("/waitlist", name="web:waitlist")
async def waitlist(request: Req) -> Response[str]:
    require_principal(request)
    reply = await call(request, "my_waitlist")
    names = await _resource_names(request)
    entries = [_with_place(e, names) for e in (reply or {}).get("entries", [])]
    return page(request, "waitlist.html", entries=entries, key=new_key())


@post("/waitlist/{entry_id:str}/leave", name="web:leave_waitlist")
async def leave_waitlist(request: Req, entry_id: FromPath[str]) -> Redirect:
    require_principal(request)
    form = await read_form(request)
    key = form.get("key") or new_key()
    await call(request, "leave_waitlist", entry_id=entry_id, idempotency_key=key)
    return Redirect(path="/waitlist?done=done_waitlist_left", status_code=303)


@post("/waitlist/{entry_id:str}/decline", name="web:decline_offer")
async def decline_offer(request: Req, entry_id: FromPath[str]) -> Redirect:
    require_principal(request)
    form = await read_form(request)
    key = form.get("key") or new_key()
    await call(request, "decline_offer", entry_id=entry_id, idempotency_key=key)
    return Redirect(path="/waitlist?done=done_offer_declined", status_code=303)


ROUTES = [join_waitlist, waitlist, leave_waitlist, decline_offer]
