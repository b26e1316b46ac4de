"""Resident pages: browse, week calendar, hold, cart, library, GIS shop, pay, receipt, cancel.

Every form posts and redirects (303), so the whole flow works without JavaScript.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect

from services.gateway.auth import require_principal
from services.gateway.dev_issuer import DEMO_USERS
from services.gateway.routes.replies import text_media_type
from services.gateway.web import i18n
from services.gateway.web.forms import read_form
from services.gateway.web.ops import call, new_key
from services.gateway.web.render import HELSINKI, local_day, page, today
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


def _items(reply: Any, *names: str) -> list[Any]:
    """The list in a reply: the reply itself, or its first field of `names` that is a list."""
    if isinstance(reply, list):
        return reply
    if isinstance(reply, dict):
        for name in names:
            found = reply.get(name)
            if isinstance(found, list):
                return found
    return []


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
    places: FromQuery[int] = 1,
) -> Response[str]:
    # A chosen day: that day. None chosen: from now over the coming week, so that late in the
    # evening or on a closed day the resident still finds every bookable resource.
    if day:
        start = datetime.combine(_date(day), time(0), HELSINKI)
        end = start + timedelta(days=1)
    else:
        start = datetime.now(HELSINKI)
        end = datetime.combine(start.date() + timedelta(days=SEARCH_DAYS), time(0), HELSINKI)
    reply = await call(
        request,
        "search",
        starts_after=start.isoformat(),
        ends_before=end.isoformat(),
        kind=kind or None,
        merchant_id=service or None,
        places=max(1, places),
    )
    hits = [h | h.get("resource", {}) for h in _items(reply, "hits")]
    filters = {
        "service": service,
        "kind": kind,
        "day": day and start.date().isoformat(),
        "places": places,
    }
    return page(request, "resources.html", resources=hits, filters=filters)


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
    reply = await call(
        request,
        "availability",
        resource_id=resource_id,
        first=monday.isoformat(),
        last=(monday + timedelta(days=6)).isoformat(),
        include_unavailable=True,  # taken and past ones shown too, in words
    )
    slots = _items(reply, "slots")
    slot_minutes = 60
    if slots:
        first = slots[0]
        length = datetime.fromisoformat(first["ends_at"]) - datetime.fromisoformat(
            first["starts_at"]
        )
        slot_minutes = max(1, int(length.total_seconds() // 60))
    days: list[tuple[date, list[Any]]] = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        mine = [s for s in slots if local_day(s.get("starts_at")) == day]
        if all(s.get("state") == "past" for s in mine):  # a day gone by: said once, not per slot
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


def durations(resource: dict[str, Any], slot_minutes: int) -> list[tuple[int, int]]:
    """(slots, minutes) the resource lets one book: from its minimum to its maximum in steps of
    its slot (1-8 slots when its rules are not known)."""
    step = int(resource.get("slot_minutes") or slot_minutes) or 60
    least = max(1, -(-int(resource.get("min_minutes") or step) // step))
    most = int(resource.get("max_minutes") or 0) // step or 8
    return [(n, n * step) for n in range(least, min(max(most, least), 72) + 1)]


async def _resource_names(request: Req) -> dict[str, Any]:
    """Names of the bookable resources (reservations carry only ids); best effort."""
    start = datetime.combine(today(), time(0), HELSINKI)
    reply = await call(
        request,
        "search",
        starts_after=start.isoformat(),
        ends_before=(start + timedelta(days=7)).isoformat(),
    )
    return {
        str(hit["resource"]["resource_id"]): hit["resource"]
        for hit in _items(reply, "hits")
        if isinstance(hit.get("resource"), dict)
    }


def _with_place(reservation: dict[str, Any], resources: dict[str, Any]) -> dict[str, Any]:
    """The reservation with its resource's and unit's names (reservations carry only ids)."""
    found = resources.get(str(reservation.get("resource_id"))) or {}
    return reservation | {"resource_name": found.get("name"), "unit_name": found.get("unit_name")}


async def _resource_summary(request: Req, resource_id: str, monday: date) -> dict[str, Any]:
    """The resource's name and unit for the heading (search lists what is free that week)."""
    start = datetime.combine(monday, time(0), HELSINKI)
    reply = await call(
        request,
        "search",
        starts_after=start.isoformat(),
        ends_before=(start + timedelta(days=7)).isoformat(),
    )
    for hit in _items(reply, "hits"):
        resource: dict[str, Any] = hit.get("resource", {})
        if str(resource.get("resource_id")) == resource_id:
            return resource
    return {}


@get("/reservations", name="web:reservations")
async def reservations(request: Req) -> Response[str]:
    _signed_in(request)
    reply = await call(request, "my_reservations")
    names = await _resource_names(request)
    rows = [_with_place(r, names) for r in _items(reply, "reservations")]
    refund = request.query_params.get("refund")
    return page(
        request,
        "reservations.html",
        reservations=rows,
        refund=int(refund) if refund and refund.isdigit() else None,
    )


@get("/reservations/{reservation_id:str}/cancel", name="web:cancel_confirm")
async def cancel_confirm(request: Req, reservation_id: FromPath[str]) -> Response[str]:
    _signed_in(request)
    quote = await call(request, "cancel_quote", reservation_id=reservation_id)
    reservation = _with_place(quote["reservation"], await _resource_names(request))
    return page(request, "cancel.html", reservation=reservation, quote=quote, key=new_key())


@post("/reservations/{reservation_id:str}/cancel", name="web:cancel")
async def cancel(request: Req, reservation_id: FromPath[str]) -> Redirect:
    _signed_in(request)
    form = await read_form(request)
    reply = await call(
        request,
        "cancel",
        reservation_id=reservation_id,
        idempotency_key=form.get("key") or new_key(),
    )
    refund = int(reply.get("refund_cents") or 0)
    return _back("/reservations", f"done_cancelled&refund={refund}")


@post("/reservations/{reservation_id:str}/pay", name="web:pay_reservation")
async def pay_reservation(request: Req, reservation_id: FromPath[str]) -> Redirect:
    """An approved request (held until its payment deadline) goes into the cart to be paid.

    The key is the reservation's, the one `hold` uses: pressing "Pay" twice, or for a hold that
    is already in the cart, adds nothing twice."""
    _signed_in(request)
    try:
        await call(
            request,
            "add_reservation",
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
        await call(request, "feed_revoke", idempotency_key=new_key())
        return page(request, "calendar.html", feed_url=None, revoked=True)
    reply = await call(request, "feed_create", idempotency_key=new_key())
    base = (request.app.state.gateway_settings.public_url or str(request.base_url)).rstrip("/")
    feed_url = f"{base}/calendar/{reply['token']}.ics"
    webcal = "webcal://" + feed_url.split("://", 1)[1]
    return page(request, "calendar.html", feed_url=feed_url, webcal_url=webcal)


@get("/calendar/{token:str}", name="web:calendar_feed")
async def calendar_feed(request: Req, token: FromPath[str]) -> Response[str]:
    """The private feed itself: the secret token is the credential (calendar apps)."""
    reply = await call(request, "calendar_feed", token=token.removesuffix(".ics"))
    return _ics(reply)


@get("/reservations/{reservation_id:str}/ics", name="web:reservation_ics")
async def reservation_ics(request: Req, reservation_id: FromPath[str]) -> Response[str]:
    _signed_in(request)
    return _ics(await call(request, "reservation_ics", reservation_id=reservation_id))


def _ics(reply: Any) -> Response[str]:
    name = str(reply.get("filename") or "calendar.ics").replace('"', "")
    return Response(
        reply.get("text", ""),
        media_type=text_media_type(reply.get("content_type") or "text/calendar"),
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
