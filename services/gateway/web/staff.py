"""Staff console: clerk day view, approvals, closures, cancellations with refunds, resources
and prices; library clerks' failed registrations; GIS catalogue; finance downloads.

The guards say who may open a page; the services check the department of each object.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect

from services.gateway.auth import allow, principal_of
from services.gateway.web.ops import call, new_key
from services.gateway.web.render import HELSINKI, page
from services.gateway.web.resident import _back, _items
from shared.errors import ValidationFailed

Req = Request[Any, Any, Any]
STAFF = allow("staff", "admin")


@get(
    "/staff",
    name="web:staff",
    guards=allow("staff", "library_clerk", "gis_clerk", "finance", "admin"),
)
async def staff_home(request: Req) -> Response[str]:
    return page(request, "staff/index.html")


@get("/staff/day", name="web:day_view", guards=STAFF)
async def day_view(request: Req, day: str = "", unit: str = "") -> Response[str]:
    on = day or date.today().isoformat()
    reply = await call(request, "day_view", date=on, unit_id=unit or None)
    return page(
        request,
        "staff/day.html",
        day=on,
        unit=unit,
        reservations=_items(reply, "reservations", "items"),
    )


@get("/staff/approvals", name="web:approvals", guards=STAFF)
async def approvals(request: Req) -> Response[str]:
    reply = await call(request, "pending_approvals")
    return page(
        request,
        "staff/approvals.html",
        requests=_items(reply, "reservations", "items"),
        key=new_key(),
    )


@post("/staff/approvals/{reservation_id:str}", name="web:decide", guards=STAFF)
async def decide(request: Req, reservation_id: str) -> Redirect:
    form = await request.form()
    decision = "approve" if form.get("decision") == "approve" else "deny"
    await call(
        request,
        decision,
        reservation_id=reservation_id,
        reason=form.get("reason") or None,
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/approvals", "done_saved")


@get("/staff/closures", name="web:closures", guards=STAFF)
async def closures(request: Req) -> Response[str]:
    choices = await _my_resources(request)
    reply = await call(request, "closures")
    return page(
        request,
        "staff/closures.html",
        closures=_items(reply, "closures"),
        resources=choices,
        key=new_key(),
    )


async def _my_resources(request: Req) -> list[dict[str, Any]]:
    """Resources of the clerk's departments (all for admins), for choosing in forms."""
    principal = principal_of(request)
    start = datetime.combine(date.today(), datetime.min.time(), HELSINKI)
    reply = await call(
        request,
        "search",
        starts_after=start.isoformat(),
        ends_before=(start + timedelta(days=7)).isoformat(),
    )
    found = [hit.get("resource", {}) for hit in _items(reply, "hits")]
    if principal is not None and not principal.is_admin:
        found = [r for r in found if r.get("merchant_id") in principal.departments]
    return found


@post("/staff/closures", name="web:add_closure", guards=STAFF)
async def add_closure(request: Req) -> Redirect:
    form = await request.form()
    await call(
        request,
        "add_closure",
        resource_id=form.get("resource_id"),
        starts_at=_local(form.get("start"), "start"),
        ends_at=_local(form.get("end"), "end"),
        reason=form.get("reason", ""),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/closures", "done_saved")


def _local(value: Any, field: str) -> str:
    """A `datetime-local` form value (Turku time) as an aware ISO timestamp."""
    try:
        moment = datetime.fromisoformat(str(value or ""))
    except ValueError:
        raise ValidationFailed("not a date and time", field=field) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=HELSINKI)).isoformat()


@post("/staff/reservations/{reservation_id:str}/cancel", name="web:staff_cancel", guards=STAFF)
async def staff_cancel(request: Req, reservation_id: str) -> Redirect:
    form = await request.form()
    await call(
        request,
        "cancel",
        reservation_id=reservation_id,
        reason=form.get("reason", ""),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/day", "done_cancelled")


@get("/staff/resources", name="web:staff_resources", guards=STAFF)
async def staff_resources(request: Req) -> Response[str]:
    reply = await call(request, "list_resources")
    return page(
        request,
        "staff/resources.html",
        resources=_items(reply, "resources", "items"),
        key=new_key(),
    )


@post("/staff/resources/{resource_id:str}", name="web:update_resource", guards=STAFF)
async def update_resource(request: Req, resource_id: str) -> Redirect:
    form = await request.form()
    await call(
        request,
        "update_resource",
        resource_id=resource_id,
        price_cents=int(form.get("price_cents") or 0),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/resources", "done_saved")


LIBRARY = allow("library_clerk", "admin")
GIS = allow("gis_clerk", "admin")


@get("/staff/library", name="web:failed_registrations", guards=LIBRARY)
async def failed_registrations(request: Req) -> Response[str]:
    reply = await call(request, "failed_registrations")
    failures = _items(reply, "registrations")
    return page(request, "staff/library.html", failures=failures, key=new_key())


@post("/staff/library/{line_id:str}/{action:str}", name="web:registration", guards=LIBRARY)
async def registration_action(request: Req, line_id: str, action: str) -> Redirect:
    if action not in ("retry", "resolve"):
        raise ValidationFailed("retry or resolve", field="action")
    form = await request.form()
    await call(
        request,
        f"{action}_registration",
        line_id=line_id,
        note=form.get("note", ""),
        idempotency_key=new_key(),
    )
    return _back("/staff/library", "done_saved")


@get("/staff/gis", name="web:gis_catalogue", guards=GIS)
async def gis_catalogue(request: Req) -> Response[str]:
    reply = await call(request, "gis_catalogue", include_inactive=True)
    queue = await call(request, "gis_queue")
    return page(
        request,
        "staff/gis.html",
        products=_items(reply, "products"),
        queue=_items(queue, "items"),
        key=new_key(),
    )


@post("/staff/gis/{line_id:str}/file", name="web:gis_upload", guards=GIS)
async def gis_upload(request: Req, line_id: str) -> Redirect:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed("choose a file", field="file")
    content = await upload.read()
    await call(
        request,
        "gis_upload",
        line_id=line_id,
        file_name=upload.filename,
        content_b64=base64.b64encode(content).decode(),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/gis", "done_saved")


@post("/staff/orders/{order_id:str}/lines/{line_id:str}/refund", name="web:refund", guards=STAFF)
async def refund_line(request: Req, order_id: str, line_id: str) -> Redirect:
    form = await request.form()
    await call(
        request,
        "request_refund",
        order_id=order_id,
        line_id=line_id,
        note=form.get("note", ""),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back(f"/orders/{order_id}", "done_saved")


MERCHANTS = ("sports", "culture", "health", "library", "gis")
FINANCE = allow("finance", "admin")


@get("/finance", name="web:finance", guards=FINANCE)
async def finance(request: Req, day: str = "", merchant: str = "") -> Response[str]:
    on = day or date.today().isoformat()
    report = None
    if merchant:
        report = await call(request, "settlement", day=on, merchant_id=merchant)
    return page(
        request,
        "staff/finance.html",
        day=on,
        merchant=merchant,
        merchants=MERCHANTS,
        report=report,
    )


@get("/finance/settlement.csv", name="web:settlement_csv", guards=FINANCE)
async def settlement_csv(request: Req, day: str, merchant: str) -> Response[str]:
    report = await call(request, "settlement", day=day, merchant_id=merchant)
    return Response(
        report.get("csv", ""),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="settlement-{merchant}-{day}.csv"'},
    )


@get("/finance/reconciliation", name="web:reconciliation", guards=FINANCE)
async def reconciliation(request: Req, start: str, end: str) -> Response[bytes]:
    report = await call(request, "reconciliation", start=start, end=end)
    return Response(
        msgspec.json.format(msgspec.json.encode(report)),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="reconciliation-{start}-{end}.json"'
        },
    )


ROUTES = [
    staff_home,
    day_view,
    approvals,
    decide,
    closures,
    add_closure,
    staff_cancel,
    staff_resources,
    update_resource,
    failed_registrations,
    registration_action,
    gis_catalogue,
    gis_upload,
    refund_line,
    finance,
    settlement_csv,
    reconciliation,
]
