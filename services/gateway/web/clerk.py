"""Clerks of the booking departments: day view, approvals, closures, cancellations.

The clerk's units and resources come from `booking.v1.list_resources` of their departments
(all for admins); each operation checks the department again in the booking service.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.gateway.auth import allow, principal_of
from services.gateway.web.forms import read_form
from services.gateway.web.ops import call, new_key
from services.gateway.web.render import page, today
from services.gateway.web.resident import _back, _items
from shared.errors import ValidationFailed

Req = Request[Any, Any, Any]
STAFF = allow("staff", "admin")
VAT_RATES = (1350, 2550, 1000, 0)


def departments_of(request: Req) -> list[str | None]:
    """The clerk's departments in order; [None] (every one) for admins."""
    principal = principal_of(request)
    if principal is None or principal.is_admin:
        return [None]
    return [*sorted(principal.departments)]


async def my_resources(request: Req, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Resources of the clerk's departments (all for admins); deactivated ones too when
    `include_inactive` (for managing them)."""
    replies = await asyncio.gather(
        *(
            call(
                request,
                "list_resources",
                merchant_id=d,
                include_inactive=include_inactive or None,
                limit=500,
            )
            for d in departments_of(request)
        )
    )
    return [r for reply in replies for r in _items(reply, "resources")]


def units_of(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    units: dict[str, dict[str, Any]] = {}
    for r in resources:
        units.setdefault(
            str(r.get("unit_id")), {"unit_id": r.get("unit_id"), "name": r.get("unit_name")}
        )
    return list(units.values())


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value) if value else today()
    except ValueError:
        raise ValidationFailed("not a date", field="day") from None


def _started(reservation: dict[str, Any], now: datetime) -> bool:
    """Whether a reservation has started (a no-show can be marked only then)."""
    try:
        return datetime.fromisoformat(str(reservation.get("starts_at"))) <= now
    except ValueError:
        return False


@get("/staff/day", name="web:day_view", guards=STAFF)
async def day_view(
    request: Req, day: FromQuery[str] = "", unit: FromQuery[str] = ""
) -> Response[str]:
    on = _date(day)
    units = units_of(await my_resources(request))
    chosen = unit or (str(units[0]["unit_id"]) if units else "")
    view: Any = {}
    if chosen:
        view = await call(request, "day_view", unit_id=chosen, day=on.isoformat())
    now = datetime.now(UTC)
    rows = [
        r | {"resource_name": rd.get("resource", {}).get("name"), "started": _started(r, now)}
        for rd in _items(view, "resources")
        for r in rd.get("reservations", [])
    ]
    rows.sort(key=lambda r: str(r.get("starts_at")))
    refund = request.query_params.get("refund", "")
    return page(
        request,
        "staff/day.html",
        previous_day=(on - timedelta(days=1)).isoformat(),
        next_day=(on + timedelta(days=1)).isoformat(),
        day_date=on,
        day=on.isoformat(),
        unit=chosen,
        units=units,
        reservations=rows,
        refund=int(refund) if refund.isdigit() else None,
        key=new_key(),
    )


@get("/staff/approvals", name="web:approvals", guards=STAFF)
async def approvals(request: Req) -> Response[str]:
    """Requests waiting for a decision in the clerk's departments, oldest first."""
    pending, resources = await asyncio.gather(
        call(request, "pending_approvals", limit=200), my_resources(request)
    )
    names = {str(r.get("resource_id")): r.get("name") for r in resources}
    requests = [
        r | {"resource_name": names.get(str(r.get("resource_id")))}
        for r in _items(pending, "reservations")
    ]
    return page(request, "staff/approvals.html", requests=requests, key=new_key())


@post("/staff/approvals/{reservation_id:str}", name="web:decide", guards=STAFF)
async def decide(request: Req, reservation_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    key = form.get("key") or new_key()
    if form.get("decision") == "approve":
        await call(request, "approve", reservation_id=reservation_id, idempotency_key=key)
    else:
        reason = str(form.get("reason") or "").strip()
        if not reason:
            raise ValidationFailed("give a reason for denying", field="reason")
        await call(
            request, "deny", reservation_id=reservation_id, reason=reason, idempotency_key=key
        )
    return _back("/staff/approvals", "done_saved")


@get("/staff/closures", name="web:closures", guards=STAFF)
async def closures(request: Req) -> Response[str]:
    resources = await my_resources(request)
    return page(
        request,
        "staff/closures.html",
        resources=resources,
        units=units_of(resources),
        hit=None,
        key=new_key(),
    )


@post("/staff/closures", name="web:add_closure", guards=STAFF, status_code=200)
async def add_closure(request: Req) -> Response[str]:
    """Close a unit or one resource for some days; the answer lists the reservations hit."""
    form = await read_form(request)
    target = str(form.get("target") or "")
    unit_id, _, resource_id = target.partition("/")
    reply = await call(
        request,
        "add_closure",
        unit_id=unit_id or None,
        resource_id=resource_id or None,
        first=_date(str(form.get("first") or "")).isoformat(),
        last=_date(str(form.get("last") or "")).isoformat(),
        reason=form.get("reason", ""),
        idempotency_key=form.get("key") or new_key(),
    )
    resources = await my_resources(request)
    return page(
        request,
        "staff/closures.html",
        resources=resources,
        units=units_of(resources),
        hit=_items(reply, "hit"),
        key=new_key(),
    )


@get(
    "/staff/reservations/{reservation_id:str}/cancel",
    name="web:staff_cancel_confirm",
    guards=STAFF,
)
async def staff_cancel_confirm(
    request: Req,
    reservation_id: FromPath[str],
    reason: FromQuery[str] = "",
    day: FromQuery[str] = "",
    unit: FromQuery[str] = "",
) -> Response[str]:
    """A destructive action is confirmed: the reservation, its customer and the refund first."""
    if not reason.strip():
        raise ValidationFailed("give a reason", field="reason")
    quote = await call(request, "cancel_quote", reservation_id=reservation_id)
    names = {str(r.get("resource_id")): r.get("name") for r in await my_resources(request)}
    reservation = quote["reservation"]
    reservation["resource_name"] = names.get(str(reservation.get("resource_id")))
    return page(
        request,
        "staff/cancel.html",
        reservation=reservation,
        quote=quote,
        reason=reason.strip(),
        day=day,
        unit=unit,
        key=new_key(),
    )


@post("/staff/reservations/{reservation_id:str}/cancel", name="web:staff_cancel", guards=STAFF)
async def staff_cancel(request: Req, reservation_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    reason = str(form.get("reason") or "").strip()
    if not reason:
        raise ValidationFailed("give a reason", field="reason")
    reply = await call(
        request,
        "cancel",
        reservation_id=reservation_id,
        reason=reason,
        idempotency_key=form.get("key") or new_key(),
    )
    refund = int(reply.get("refund_cents") or 0)
    return _back(
        f"/staff/day?day={form.get('day', '')}&unit={form.get('unit', '')}",
        f"done_cancelled&refund={refund}",
    )


@post("/staff/reservations/{reservation_id:str}/no-show", name="web:no_show", guards=STAFF)
async def no_show(request: Req, reservation_id: FromPath[str]) -> Redirect:
    """Mark (or unmark) that nobody came to a confirmed reservation that has started."""
    form = await request.form()
    await call(
        request,
        "mark_no_show",
        reservation_id=reservation_id,
        no_show=form.get("no_show") != "false",
        idempotency_key=form.get("key") or new_key(),
    )
    return _back(f"/staff/day?day={form.get('day', '')}&unit={form.get('unit', '')}", "done_saved")


ROUTES = [
    no_show,
    day_view,
    staff_cancel_confirm,
    approvals,
    decide,
    closures,
    add_closure,
    staff_cancel,
]
