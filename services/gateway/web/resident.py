"""Resident pages: browse, week calendar, hold, cart, library, GIS shop, pay, receipt, cancel.

Every form posts and redirects (303), so the whole flow works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect

from services.gateway.auth import require_principal
from services.gateway.dev_issuer import DEMO_USERS
from services.gateway.routes.replies import text_media_type
from services.gateway.web import i18n
from services.gateway.web.forms import (
    cancelled_already,
    carried_refund,
    carry_refund,
    read_form,
)
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import HELSINKI, local_day, page, today
from shared.contracts import booking as bk
from shared.contracts import cart as ct
from shared.errors import Conflict, ValidationFailed

SEARCH_DAYS = 7  # the search window when the resident has not chosen a day

Req = Request[Any, Any, Any]
Next = Annotated[str, QueryParameter(name="next")]


def _signed_in(request: Req) -> None:
    """Sign-in first (401 -> the sign-in page), or 503 while the sign-in service is down."""
    require_principal(request)


def _back(path: str, done: str) -> Redirect:
    joiner = "&" if "?" in path else "?"
    return Redirect(path=f"{path}{joiner}done={done}", status_code=303)


@get("/", name="web:home")
async def home(request: Req) -> Response[str]:
    return page(request, "home.html")


@get("/lang/{code:str}", name="web:lang")
async def switch_language(code: FromPath[str], next_: Next = "/") -> Redirect:
    target = next_ if next_.startswith("/") and not next_.startswith("//") else "/"
    response = Redirect(path=target, status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(i18n.LANG_COOKIE, code, max_age=365 * 86400, path="/", samesite="lax")
    return response


@get("/sign-in", name="web:sign_in")
async def sign_in(request: Req, next_: Next = "/") -> Response[str]:
    dev = request.app.state.dev_issuer is not None
    target = next_ if next_.startswith("/") and not next_.startswith("//") else "/"
    return page(request, "sign_in.html", dev=dev, users=DEMO_USERS if dev else (), next=target)


@get("/resources", name="web:resources")
async def resources(
    request: Req,
    service: FromQuery[str] = "",
    kind: FromQuery[str] = "",
    day: FromQuery[str] = "",
    places: FromQuery[str] = "1",
) -> Response[str]:
    count = _places(places)
    # A chosen day: that day. None chosen: from now over the coming week, so that late in the
    # evening or on a closed day the resident still finds every bookable resource.
    if day:
        start = datetime.combine(_date(day), time(0), HELSINKI)
        end = start + timedelta(days=1)
    else:
        start = datetime.now(HELSINKI)
        end = datetime.combine(start.date() + timedelta(days=SEARCH_DAYS), time(0), HELSINKI)
    reply = await fetch(
        request,
        "search",
        bk.SearchReply,
        starts_after=start.isoformat(),
        ends_before=end.isoformat(),
        kind=kind or None,
        merchant_id=service or None,
        places=count,
    )
    filters = {
        "service": service,
        "kind": kind,
        "day": day and start.date().isoformat(),
        "places": count,
    }
    return page(request, "resources.html", hits=reply.hits, filters=filters)


def _places(value: str) -> int:
    """The search's places: an emptied field (the browser sends `places=`) is one place."""
    if not value.strip():
        return 1
    try:
        return max(1, int(value))
    except ValueError:
        raise ValidationFailed(
            "give the number of places as a whole number", field="places"
        ) from None


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("not a date", field="day") from None


def _week_start(week: str) -> date:
    """The Monday of the week that holds `week` (any day of it; this week when empty)."""
    day = _date(week) if week else today()
    return day - timedelta(days=day.weekday())


@get("/resources/{resource_id:str}", name="web:resource")
async def resource_week(
    request: Req, resource_id: FromPath[str], week: FromQuery[str] = ""
) -> Response[str]:
    monday = _week_start(week)
    reply = await fetch(
        request,
        "availability",
        bk.Availability,
        resource_id=resource_id,
        first=monday.isoformat(),
        last=(monday + timedelta(days=6)).isoformat(),
        include_unavailable=True,  # taken and past ones shown too, in words
    )
    slots = reply.slots
    slot_minutes = 60
    if slots:
        length = slots[0].ends_at - slots[0].starts_at
        slot_minutes = max(1, int(length.total_seconds() // 60))
    days: list[tuple[date, list[bk.Slot]]] = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        mine = [s for s in slots if local_day(s.starts_at) == day]
        if all(s.state == "past" for s in mine):  # a day gone by: said once, not per slot
            mine = []
        days.append((day, mine))
    resource = await _resource_summary(request, resource_id, monday)
    return page(
        request,
        "resource_week.html",
        resource=resource,
        resource_id=resource_id,
        days=days,
        today=today(),
        monday=monday,
        previous=(monday - timedelta(days=7)).isoformat(),
        next_week=(monday + timedelta(days=7)).isoformat(),
        week_number=monday.isocalendar().week,
        lengths=durations(resource, slot_minutes),
        key=new_key(),
    )


def durations(resource: bk.ResourceSummary | None, slot_minutes: int) -> list[tuple[int, int]]:
    """(slots, minutes) the resource lets one book: from its minimum to its maximum in steps of
    its slot (1-8 slots when its rules are not known)."""
    step = (resource.slot_minutes if resource else 0) or slot_minutes or 60
    least = max(1, -(-((resource.min_minutes if resource else 0) or step) // step))
    most = (resource.max_minutes if resource else 0) // step or 8
    return [(n, n * step) for n in range(least, min(max(most, least), 72) + 1)]


@dataclass(frozen=True, slots=True)
class ReservationRow:
    """A reservation with its resource's and unit's names (reservations carry only ids; None
    when the resource is not among the bookable ones)."""

    reservation: bk.ReservationView
    resource_name: bk.LocalizedText | None
    unit_name: bk.LocalizedText | None


async def _resource_names(request: Req) -> dict[str, bk.ResourceSummary]:
    """The bookable resources by id, for their names (reservations carry only ids)."""
    start = datetime.combine(today(), time(0), HELSINKI)
    reply = await fetch(
        request,
        "search",
        bk.SearchReply,
        starts_after=start.isoformat(),
        ends_before=(start + timedelta(days=7)).isoformat(),
    )
    return {str(hit.resource.resource_id): hit.resource for hit in reply.hits}


def reservation_row(
    reservation: bk.ReservationView, resources: dict[str, bk.ResourceSummary]
) -> ReservationRow:
    """The reservation with its resource's and unit's names."""
    found = resources.get(str(reservation.resource_id))
    return ReservationRow(
        reservation=reservation,
        resource_name=found.name if found else None,
        unit_name=found.unit_name if found else None,
    )


async def _resource_summary(
    request: Req, resource_id: str, monday: date
) -> bk.ResourceSummary | None:
    """The resource's name and unit for the heading (search lists what is free that week)."""
    start = datetime.combine(monday, time(0), HELSINKI)
    reply = await fetch(
        request,
        "search",
        bk.SearchReply,
        starts_after=start.isoformat(),
        ends_before=(start + timedelta(days=7)).isoformat(),
    )
    for hit in reply.hits:
        if str(hit.resource.resource_id) == resource_id:
            return hit.resource
    return None


@get("/reservations", name="web:reservations")
async def reservations(request: Req) -> Response[str]:
    _signed_in(request)
    reply = await fetch(request, "my_reservations", bk.ReservationList)
    names = await _resource_names(request)
    rows = [reservation_row(r, names) for r in reply.reservations]
    return page(
        request,
        "reservations.html",
        reservations=rows,
        refund=cancelled_refund(request, reply.reservations),
    )


def cancelled_refund(request: Req, reservations: list[bk.ReservationView]) -> int | None:
    """What the resident's cancellation just gave back, as booking answered it
    (`carry_refund`), shown only while that reservation is among theirs and cancelled. Never
    from the URL: a link could make the page promise any amount."""
    carried = carried_refund(request)
    if carried is None:
        return None
    reservation_id, cents = carried
    cancelled = any(
        str(r.reservation_id) == reservation_id and r.state == "cancelled" for r in reservations
    )
    return cents if cancelled else None


@get("/reservations/{reservation_id:str}/cancel", name="web:cancel_confirm")
async def cancel_confirm(request: Req, reservation_id: FromPath[str]) -> Response[str]:
    _signed_in(request)
    quote = await fetch(request, "cancel_quote", bk.CancelQuote, reservation_id=reservation_id)
    row = reservation_row(quote.reservation, await _resource_names(request))
    return page(request, "cancel.html", row=row, quote=quote, key=new_key())


@post("/reservations/{reservation_id:str}/cancel", name="web:cancel")
async def cancel(request: Req, reservation_id: FromPath[str]) -> Redirect:
    _signed_in(request)
    form = await read_form(request)
    return await cancel_and_go_back(
        request,
        "cancel",
        "/reservations",
        reservation_id=reservation_id,
        idempotency_key=form.get("key") or new_key(),
    )


async def cancel_and_go_back(request: Req, op: str, back: str, **fields: Any) -> Redirect:
    """Cancel with booking's `op` and go `back`, the refund carried to that page (shown once);
    a reservation cancelled meanwhile (a second tab, the resident and a clerk at once) says it
    was cancelled already, and promises nothing."""
    try:
        reply = await fetch(request, op, bk.CancelReply, **fields)
    except Conflict as exc:
        if not cancelled_already(exc):
            raise
        return _back(back, "done_already_cancelled")
    done = _back(back, "done_cancelled")
    return carry_refund(done, reply.reservation.reservation_id, reply.refund_cents)


@post("/reservations/{reservation_id:str}/pay", name="web:pay_reservation")
async def pay_reservation(request: Req, reservation_id: FromPath[str]) -> Redirect:
    """An approved request (held until its payment deadline) goes into the cart to be paid.

    The key is the reservation's, the one `hold` uses: pressing "Pay" twice, or for a hold that
    is already in the cart, adds nothing twice."""
    _signed_in(request)
    try:
        await fetch(
            request,
            "add_reservation",
            ct.CartView,
            reservation_id=reservation_id,
            idempotency_key=f"{reservation_id}-cart",
        )
    except Conflict as exc:
        if exc.field != "reference":  # "already in the cart": pay it there
            raise
    return _back("/cart", "done_added")


@get("/calendar", name="web:calendar")
async def calendar(request: Req) -> Response[str]:
    _signed_in(request)
    return page(request, "calendar.html", feed_url=None)


@post("/calendar", name="web:calendar_create", status_code=200)
async def calendar_create(request: Req) -> Response[str]:
    """The new private address is shown once, in this answer (never in a URL or a log)."""
    _signed_in(request)
    form = await read_form(request)
    if form.get("action") == "revoke":
        await fetch(request, "feed_revoke", bk.CalendarToken, idempotency_key=new_key())
        return page(request, "calendar.html", feed_url=None, revoked=True)
    reply = await fetch(request, "feed_create", bk.CalendarToken, idempotency_key=new_key())
    base = (request.app.state.gateway_settings.public_url or str(request.base_url)).rstrip("/")
    feed_url = f"{base}/calendar/{reply.token}.ics"
    webcal = "webcal://" + feed_url.split("://", 1)[1]
    return page(request, "calendar.html", feed_url=feed_url, webcal_url=webcal)


@get("/calendar/{token:str}", name="web:calendar_feed")
async def calendar_feed(request: Req, token: FromPath[str]) -> Response[str]:
    """The private feed itself: the secret token is the credential (calendar apps)."""
    reply = await fetch(request, "calendar_feed", bk.CalendarText, token=token.removesuffix(".ics"))
    return _ics(reply)


@get("/reservations/{reservation_id:str}/ics", name="web:reservation_ics")
async def reservation_ics(request: Req, reservation_id: FromPath[str]) -> Response[str]:
    _signed_in(request)
    return _ics(
        await fetch(request, "reservation_ics", bk.CalendarText, reservation_id=reservation_id)
    )


def _ics(reply: bk.CalendarText) -> Response[str]:
    name = (reply.filename or "calendar.ics").replace('"', "")
    return Response(
        reply.text,
        media_type=text_media_type(reply.content_type or "text/calendar"),
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private"},
    )


ROUTES = [
    home,
    switch_language,
    sign_in,
    resources,
    resource_week,
    reservations,
    cancel_confirm,
    cancel,
    pay_reservation,
    calendar,
    calendar_create,
    calendar_feed,
    reservation_ics,
]
