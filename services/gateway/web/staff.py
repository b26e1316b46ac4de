"""Staff console: clerk day view, approvals, closures, cancellations with refunds, resources
and prices; library clerks' failed registrations; GIS catalogue; finance downloads and
payment anomalies.

The guards say who may open a page; the services check the department of each object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.gateway.auth import allow
from services.gateway.routes.gis_files import store_form_file
from services.gateway.web.forms import read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page, today
from services.gateway.web.resident import _back
from services.gateway.web.resources import euros_to_cents
from shared.contracts import cart as ct
from shared.contracts import payment as pm
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


LIBRARY = allow("library_clerk", "admin")
GIS = allow("gis_clerk", "admin")


@get("/staff/library", name="web:failed_registrations", guards=LIBRARY)
async def failed_registrations(request: Req) -> Response[str]:
    reply = await fetch(request, "failed_registrations", ct.RegistrationList)
    return page(request, "staff/library.html", failures=reply.registrations, key=new_key())


@post("/staff/library/{line_id:str}/{action:str}", name="web:registration", guards=LIBRARY)
async def registration_action(
    request: Req, line_id: FromPath[str], action: FromPath[str]
) -> Redirect:
    if action not in ("retry", "resolve"):
        raise ValidationFailed("retry or resolve", field="action")
    form = await read_form(request)
    await fetch(
        request,
        f"{action}_registration",
        ct.Registration,
        line_id=line_id,
        note=form.get("note", ""),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/library", "done_saved")


@get("/staff/gis", name="web:gis_catalogue", guards=GIS)
async def gis_catalogue(request: Req) -> Response[str]:
    reply = await fetch(request, "gis_product_records", ct.GisProductRecordList)
    queue = await fetch(request, "gis_queue", ct.GisQueue)
    return page(
        request,
        "staff/gis.html",
        products=reply.products,
        queue=queue.items,
        key=new_key(),
    )


async def _product_record(request: Req, product_id: str) -> ct.GisProduct:
    """The product as a clerk writes it (the record without the file's name and size)."""
    reply = await fetch(request, "gis_product_records", ct.GisProductRecordList)
    found = [p for p in reply.products if p.id == product_id]
    if not found:
        raise ValidationFailed("no such product", field="product_id")
    record = found[0]
    return ct.GisProduct(**{f: getattr(record, f) for f in ct.GisProduct.__struct_fields__})


@post("/staff/gis/products/{product_id:str}", name="web:gis_product", guards=GIS)
async def gis_product(request: Req, product_id: FromPath[str]) -> Redirect:
    """Change a product's price (per file/sheet, or the base fee of area pricing) and whether
    it is sold; the rest of the product stays as it is."""
    form = await read_form(request)
    product = await _product_record(request, product_id)
    price_field = "base_fee_cents" if product.pricing.kind == "area" else "unit_cents"
    cents = euros_to_cents(form.get("price_euros"), "price_euros")
    pricing = msgspec.structs.replace(product.pricing, **{price_field: cents})
    product = msgspec.structs.replace(product, pricing=pricing, active=form.get("active") == "on")
    await fetch(
        request,
        "upsert_gis_product",
        ct.GisProductRecord,
        product=product,
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/gis", "done_saved")


@post("/staff/gis/ready-files/{product_id:str}", name="web:gis_product_file", guards=GIS)
async def gis_product_file(request: Req, product_id: FromPath[str]) -> Redirect:
    """Upload a product's ready file: the store issues its id and the product names it."""
    form = await read_form(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed("choose a file", field="file")
    product = await _product_record(request, product_id)
    key = form.get("key") or new_key()
    file = await store_form_file(request, upload)
    stored = await fetch(
        request,
        "gis_upload_file",
        ct.GisFile,
        file_name=upload.filename,
        file_id=file.file_id,
        size_bytes=file.size_bytes,
        sha256=file.sha256,
        idempotency_key=f"{key}-file",
    )
    product = msgspec.structs.replace(product, ready_file=stored.file_id)
    await fetch(
        request, "upsert_gis_product", ct.GisProductRecord, product=product, idempotency_key=key
    )
    return _back("/staff/gis", "done_saved")


@post("/staff/gis/{line_id:str}/file", name="web:gis_upload", guards=GIS)
async def gis_upload(request: Req, line_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed("choose a file", field="file")
    file = await store_form_file(request, upload)
    await fetch(
        request,
        "gis_upload",
        ct.OrderLineView,
        line_id=line_id,
        file_name=upload.filename,
        file_id=file.file_id,
        size_bytes=file.size_bytes,
        sha256=file.sha256,
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/gis", "done_saved")


@post("/staff/orders/{order_id:str}/lines/{line_id:str}/refund", name="web:refund", guards=STAFF)
async def refund_line(request: Req, order_id: FromPath[str], line_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    note = str(form.get("note") or "").strip()
    if not note:  # why money goes back stays on the order (the API leaves it to the caller)
        raise ValidationFailed("give the reason for the refund", field="note")
    await fetch(
        request,
        "request_refund",
        ct.RefundRequestView,
        order_id=order_id,
        line_id=line_id,
        note=note,
        idempotency_key=form.get("key") or new_key(),
    )
    return _back(f"/orders/{order_id}", "done_saved")


FINANCE = allow("finance", "admin")


@dataclass(frozen=True, slots=True)
class AnomalyRow:
    """A payment anomaly with the idempotency key of its row's form (one key, one resolution)."""

    anomaly: pm.AnomalyView
    key: str


async def _merchant_ids(request: Req) -> list[str]:
    reply = await fetch(request, "list_merchants", ct.MerchantList)
    return [m.id for m in reply.merchants if m.id]


@get("/finance", name="web:finance", guards=FINANCE)
async def finance(
    request: Req, day: FromQuery[str] = "", merchant: FromQuery[str] = ""
) -> Response[str]:
    on = day or (today() - timedelta(days=1)).isoformat()  # the last complete day
    merchants = await _merchant_ids(request)
    merchant = merchant or (merchants[0] if merchants else "")  # a report at once
    report = None
    if merchant:
        report = await fetch(
            request, "settlement", pm.SettlementReport, day=on, merchant_id=merchant
        )
    anomalies = await fetch(
        request, "payment_anomalies", pm.AnomalyList, unresolved_only=True, limit=100
    )
    return page(
        request,
        "staff/finance.html",
        day=on,
        merchant=merchant,
        merchants=merchants,
        report=report,
        # Each row's form has a key of its own (one key is one resolution).
        anomalies=[AnomalyRow(anomaly=a, key=new_key()) for a in anomalies.anomalies],
        key=new_key(),
    )


@post("/finance/anomalies/{anomaly_id:int}/resolve", name="web:resolve_anomaly", guards=FINANCE)
async def resolve_anomaly(request: Req, anomaly_id: FromPath[int]) -> Redirect:
    """Settle a payment anomaly with a note of what was done (each row's form has its key)."""
    form = await read_form(request)
    await fetch(
        request,
        "resolve_anomaly",
        pm.AnomalyView,
        anomaly_id=anomaly_id,
        resolution=form.get("resolution", ""),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/finance", "done_resolved")


@get("/finance/settlement.csv", name="web:settlement_csv", guards=FINANCE)
async def settlement_csv(
    request: Req, day: FromQuery[str], merchant: FromQuery[str]
) -> Response[str]:
    report = await fetch(request, "settlement", pm.SettlementReport, day=day, merchant_id=merchant)
    return Response(
        report.csv,
        media_type="text/csv",  # Litestar adds `; charset=utf-8` to text/*
        headers={"Content-Disposition": f'attachment; filename="settlement-{merchant}-{day}.csv"'},
    )


@get("/finance/reconciliation", name="web:reconciliation", guards=FINANCE)
async def reconciliation(
    request: Req, start: FromQuery[str], end: FromQuery[str]
) -> Response[bytes]:
    """The form's days are inclusive (from the 6th to the 6th: that day); payment's period
    ends before its `end`, so the day after the last is asked."""
    try:
        after = (date.fromisoformat(end) + timedelta(days=1)).isoformat()
    except ValueError:
        raise ValidationFailed("give the last day as a date", field="end") from None
    report = await fetch(request, "reconciliation", pm.ReconciliationReport, start=start, end=after)
    return Response(
        msgspec.json.format(msgspec.json.encode(report)),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="reconciliation-{start}-{end}.json"'
        },
    )


def _erp_day_refused(refused: ValidationFailed, day: str) -> ValidationFailed:
    """Payment refuses a day that has not ended in Helsinki (its file is not final): said as
    such (`details["reason"]`), not as a bad date."""
    try:
        on = date.fromisoformat(day.strip())
    except ValueError:
        return refused
    if refused.field == "day" and on >= today():
        refused.details["reason"] = "not_ended"
    return refused


@get("/finance/erp-preview", name="web:erp_preview", guards=FINANCE)
async def erp_preview(request: Req, day: FromQuery[str] = "") -> Response[str]:
    """The day's accounting file as an export would make it now (nothing recorded), with the
    export form below it; a bad or unfinished day is shown on the form, input kept."""
    on = day.strip() or (today() - timedelta(days=1)).isoformat()
    try:
        preview = await fetch(request, "erp_preview", pm.ErpPreview, day=on)
    except ValidationFailed as refused:
        form = {"values": {"day": [on]}, "code": refused.code, "field": "day"}
        form["details"] = _erp_day_refused(refused, on).details
        return page(
            request, "staff/erp_preview.html", status_code=422, form=form, day=on, preview=None
        )
    totals: dict[str, list[int]] = {}
    for row in preview.rows:
        sums = totals.setdefault(row.kind, [0, 0])
        sums[0] += row.base_cents
        sums[1] += row.vat_cents
    return page(
        request,
        "staff/erp_preview.html",
        form={"values": {"day": [on]}},
        day=on,
        preview=preview,
        totals=totals,
        key=new_key(),
    )


@post("/finance/erp-export", name="web:erp_export", guards=FINANCE, status_code=200)
async def erp_export(request: Req) -> Response[str]:
    """The day's accounting file for the ERP (CSV). A day already exported is refused unless
    the officer asks for a re-export, which the payment service records."""
    form = await read_form(request)
    day = str(form.get("day") or "")
    try:
        export = await fetch(
            request,
            "erp_export",
            pm.ErpExport,
            day=day,
            reexport=form.get("reexport") == "on",
            idempotency_key=form.get("key") or new_key(),
        )
    except ValidationFailed as refused:
        refused = _erp_day_refused(refused, day)
        if refused.field == "day":  # the export form's date, not the settlement's
            refused.details["field"] = "erp_day"
        raise refused from None
    run = export.run
    return Response(
        export.csv,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="erp-{day}-run{run}.csv"'},
    )


ROUTES = [
    staff_home,
    failed_registrations,
    registration_action,
    gis_catalogue,
    gis_product,
    gis_product_file,
    gis_upload,
    refund_line,
    finance,
    settlement_csv,
    reconciliation,
    erp_export,
    erp_preview,
    resolve_anomaly,
]
