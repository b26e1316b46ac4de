"""The summary step between choosing a slot and holding it (GOV.UK "check your answers"):
resource, place, time, price, the cancellation policy and what happens next, before the
resident commits. The week's form comes here (GET, so signing in keeps the choice in the
address); "Confirm" posts to `/holds`, which holds (or requests) the time with the contact
and puts what is held into the cart."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect

from services.gateway.auth import require_principal
from services.gateway.web.forms import back_to_form, origin_page, read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page
from services.gateway.web.resident import (
    _back,
    _resource_summary,
    _signed_in,
    _week_start,
)
from shared.contracts import booking as bk
from shared.contracts import cart as ct
from shared.contracts import invoicing as inv
from shared.errors import ServiceError, ValidationFailed

Req = Request[Any, Any, Any]
log = logging.getLogger(__name__)


def contact_of(form: Any) -> dict[str, str] | None:
    """Who to contact and the purpose, from the summary's form (None when not asked)."""
    if "contact_name" not in form:
        return None
    return {
        "name": str(form.get("contact_name") or "").strip(),
        "email": str(form.get("contact_email") or "").strip(),
        "phone": str(form.get("contact_phone") or "").strip(),
        "purpose": str(form.get("purpose") or "").strip(),
    }


def whole(value: Any, field: str, default: int) -> int:
    """A whole number from a form, or a validation error naming its field."""
    text = str(value or "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 9999:
        raise ValidationFailed("not a whole number", field=field)
    return int(text)


def span(slot: str, length: int) -> tuple[datetime, datetime]:
    """The chosen slot ("start|end") stretched over `length` slots."""
    # A "+02:00" that went through one decoding too many (a sign-in's return address) is " ".
    start, _, end = slot.strip().replace(" ", "+").partition("|")
    try:
        first_start, first_end = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except ValueError:
        raise ValidationFailed("choose a time", field="slot") from None
    return first_start, first_start + (first_end - first_start) * max(1, min(length, 72))


@get("/book", name="web:book_summary")
async def book_summary(
    request: Req,
    resource_id: FromQuery[str],
    slot: FromQuery[str] = "",
    length: FromQuery[str] = "1",
    places: FromQuery[str] = "1",
    repeat: FromQuery[str] = "1",
) -> Response[Any]:
    _signed_in(request)
    choice = {"slot": slot, "length": length, "places": places, "repeat": repeat}
    form_page = f"/resources/{resource_id}" + (f"?week={slot[:10]}" if slot[:10] else "")
    try:
        start, end = span(slot, whole(length, "length", 1))
        week = f"/resources/{resource_id}?week={start.date().isoformat()}"
        count, seats = whole(repeat, "repeat", 1), whole(places, "places", 1)
        quote = await fetch(
            request,
            "quote",
            bk.QuoteReply,
            resource_id=resource_id,
            starts_at=start.isoformat(),
            ends_at=end.isoformat(),
            places=seats,
        )
    except ServiceError as exc:  # back to the week, the choice kept, the field named
        back = back_to_form(request, exc, to=form_page, values=choice)
        if back is None:
            raise
        return back
    resource = await _resource_summary(request, resource_id, _week_start(start.date().isoformat()))
    organisations = await _my_organisations(request)
    return page(
        request,
        "book_summary.html",
        resource=resource,
        resource_id=resource_id,
        starts_at=start,
        ends_at=end,
        places=seats,
        repeat=count,
        length=length,
        slot=slot,
        quote=quote,
        week=week,
        change=f"{week}&{urlencode(choice)}",
        key=new_key(),
        organisations=organisations,
    )


async def _my_organisations(request: Req) -> list[inv.OrganisationView]:
    """The organisations the visitor may book for (their contact persons'); none when
    payment does not answer (booking for oneself still works)."""
    try:
        mine = await fetch(request, "my_organisations", inv.OrganisationList)
    except ServiceError as exc:
        log.warning("organisations for the booking summary not available (%s)", exc.code)
        return []
    me = require_principal(request).subject  # staff see every organisation: only their own
    return [o for o in mine.organisations if me in o.contact_persons]


@post("/holds", name="web:hold")
async def hold(request: Req) -> Redirect:
    form = await read_form(request)  # first: a signed-out visitor comes back with the choice
    _signed_in(request)
    places = whole(form.get("places"), "places", 1)
    repeat = whole(form.get("repeat"), "repeat", 1)
    begins, ends = span(str(form.get("slot") or ""), whole(form.get("length"), "length", 1))
    start, end = begins.isoformat(), ends.isoformat()
    key = form.get("key") or new_key()
    resource_id, contact = form.get("resource_id"), contact_of(form)
    reply: bk.SeriesReply | bk.HoldReply
    try:
        if repeat > 1:
            reply = await fetch(
                request,
                "hold_series",
                bk.SeriesReply,
                resource_id=resource_id,
                starts_at=start,
                ends_at=end,
                places=places,
                rrule=f"FREQ=WEEKLY;COUNT={min(repeat, 52)}",
                book_free=True,
                idempotency_key=key,
                contact=contact,
                organisation_id=form.get("organisation_id") or None,  # booking checks it
            )
        else:
            item = {"resource_id": resource_id, "starts_at": start, "ends_at": end}
            reply = await fetch(
                request,
                "hold",
                bk.HoldReply,
                items=[item | {"places": places}],
                idempotency_key=key,
                contact=contact,
                organisation_id=form.get("organisation_id") or None,  # booking checks it
            )
    except ServiceError as exc:  # a contact field, the organisation: answered on the summary
        back = back_to_form(request, exc, to=origin_page(request))
        answered_here = ("contact", "$.contact", "organisation_id")
        if back is None or not (exc.field or "").startswith(answered_here):
            raise
        return back
    for reservation in reply.reservations:
        if reservation.state == "held":
            rid = reservation.reservation_id
            await fetch(
                request,
                "add_reservation",
                ct.CartView,
                reservation_id=rid,
                idempotency_key=f"{rid}-cart",
            )
    held = reply.reservations
    if held and all(r.state == "requested" for r in held):
        return _back("/reservations", "done_requested")
    return _back("/cart", "done_held")


ROUTES = [book_summary, hold]
