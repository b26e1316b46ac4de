"""Clerks of the booking departments: day view, approvals, closures, cancellations.

The clerk's units and resources come from `booking.v1.list_resources` of their departments
(all for admins); each operation checks the department again in the booking service.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.gateway.auth import allow, principal_of
from services.gateway.web.forms import (
    carried_refund,
    read_form,
)
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page, today
from services.gateway.web.resident import (
    ReservationRow,
    _back,
    cancel_and_go_back,
    reservation_row,
)
from shared.contracts import booking as bk
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


async def resources_of(request: Req, include_inactive: bool = False) -> list[bk.ResourceSummary]:
    """Resources of the clerk's departments (all for admins); deactivated ones too when
    `include_inactive` (for managing them)."""
    replies = await asyncio.gather(
        *(
            fetch(
                request,
                "list_resources",
                bk.ResourceList,
                merchant_id=d,
                include_inactive=include_inactive or None,
                limit=500,
            )
            for d in departments_of(request)
        )
    )
    return [r for reply in replies for r in reply.resources]


@dataclass(frozen=True, slots=True)
class UnitChoice:
    """A unit to choose (the clerk's resources name their units)."""

    unit_id: UUID
    name: bk.LocalizedText


@dataclass(frozen=True, slots=True)
class DayRow:
    """A reservation of the day view: its resource's name and whether it has started (a
    no-show can be marked only then)."""

    reservation: bk.ReservationView
    resource_name: bk.LocalizedText
    started: bool


def units_of(resources: list[bk.ResourceSummary]) -> list[UnitChoice]:
    units: dict[UUID, UnitChoice] = {}
    for r in resources:
        units.setdefault(r.unit_id, UnitChoice(unit_id=r.unit_id, name=r.unit_name))
    return list(units.values())


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value) if value else today()
    except ValueError:
        raise ValidationFailed("not a date", field="day") from None


@get("/staff/day", name="web:day_view", guards=STAFF)
async def day_view(
    request: Req, day: FromQuery[str] = "", unit: FromQuery[str] = ""
) -> Response[str]:
    on = _date(day)
    units = units_of(await resources_of(request))
    chosen = unit or (str(units[0].unit_id) if units else "")
    rows: list[DayRow] = []
    if chosen:
        view = await fetch(request, "day_view", bk.DayView, unit_id=chosen, day=on.isoformat())
        now = datetime.now(UTC)
        rows = [
            DayRow(reservation=r, resource_name=rd.resource.name, started=r.starts_at <= now)
            for rd in view.resources
            for r in rd.reservations
        ]
    rows.sort(key=lambda row: row.reservation.starts_at)
    carried = carried_refund(request)  # from the cancel just made, never from the URL
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
        refund=carried[1] if carried else None,
        key=new_key(),
    )


@get("/staff/approvals", name="web:approvals", guards=STAFF)
async def approvals(request: Req) -> Response[str]:
    """Requests waiting for a decision in the clerk's departments, oldest first."""
    pending, resources = await asyncio.gather(
        fetch(request, "pending_approvals", bk.ReservationList, limit=200), resources_of(request)
    )
    names = {str(r.resource_id): r for r in resources}
    requests = [reservation_row(r, names) for r in pending.reservations]
    return page(request, "staff/approvals.html", requests=requests, key=new_key())


@post("/staff/approvals/{reservation_id:str}", name="web:decide", guards=STAFF)
async def decide(request: Req, reservation_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    key = form.get("key") or new_key()
    if form.get("decision") == "approve":
        await fetch(
            request,
            "approve",
            bk.ReservationView,
            reservation_id=reservation_id,
            idempotency_key=key,
        )
    else:
        reason = str(form.get("reason") or "").strip()
        if not reason:
            raise ValidationFailed("give a reason for denying", field="reason")
        await fetch(
            request,
            "deny",
            bk.ReservationView,
            reservation_id=reservation_id,
            reason=reason,
            idempotency_key=key,
        )
    return _back("/staff/approvals", "done_saved")


@get("/staff/closures", name="web:closures", guards=STAFF)
async def closures(request: Req) -> Response[str]:
    resources = await resources_of(request)
    return page(
        request,
        "staff/closures.html",
        resources=resources,
        units=units_of(resources),
        hit=None,
        key=new_key(),
    )


def _closure_day(value: Any, field: str) -> str:
    """A closure's first or last day as typed (an empty one is not today: it is missing)."""
    try:
        return date.fromisoformat(str(value or "").strip()).isoformat()
    except ValueError:
        raise ValidationFailed("give the day as a date", field=field) from None


@post("/staff/closures", name="web:add_closure", guards=STAFF, status_code=200)
async def add_closure(request: Req) -> Response[str]:
    """Close a unit or one resource for some days; the answer lists the reservations hit."""
    form = await read_form(request)
    target = str(form.get("target") or "")
    unit_id, _, resource_id = target.partition("/")
    reply = await fetch(
        request,
        "add_closure",
        bk.ClosureReply,
        unit_id=unit_id or None,
        resource_id=resource_id or None,
        first=_closure_day(form.get("first"), "first"),
        last=_closure_day(form.get("last"), "last"),
        reason=form.get("reason", ""),
        idempotency_key=form.get("key") or new_key(),
    )
    resources = await resources_of(request)
    return page(
        request,
        "staff/closures.html",
        resources=resources,
        units=units_of(resources),
        hit=reply.hit,
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
    quote = await fetch(request, "cancel_quote", bk.CancelQuote, reservation_id=reservation_id)
    names = {str(r.resource_id): r for r in await resources_of(request)}
    row: ReservationRow = reservation_row(quote.reservation, names)
    return page(
        request,
        "staff/cancel.html",
        row=row,
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
    return await cancel_and_go_back(
        request,
        "cancel",
        f"/staff/day?day={form.get('day', '')}&unit={form.get('unit', '')}",
        reservation_id=reservation_id,
        reason=reason,
        idempotency_key=form.get("key") or new_key(),
    )


@post("/staff/reservations/{reservation_id:str}/no-show", name="web:no_show", guards=STAFF)
async def no_show(request: Req, reservation_id: FromPath[str]) -> Redirect:
    """Mark (or unmark) that nobody came to a confirmed reservation that has started."""
    form = await request.form()
    await fetch(
        request,
        "mark_no_show",
        bk.ReservationView,
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
