"""Invoices of organisations (issue 19): staff and finance follow them (`/finance/invoices`:
open, paid, overdue, credit notes), see one with its lines and VAT, and credit lines of it
after a confirmation (a refund of an invoiced order is a credit note); finance marks invoices
paid by uploading the bank's file (`/finance/invoice-payments`, the CSV the API accepts:
`reference_number;amount;paid_on`) and sees each row's outcome, a wrong amount or an unknown
reference as an anomaly. A contact person of an organisation sees its invoices (`/invoices`).

Authorisation is the service's (payment.v1.*); the guards only keep others off the pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.gateway.auth import allow
from services.gateway.web.forms import back_to_form, read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page
from shared.contracts import invoicing as iv
from shared.contracts import payment as pm
from shared.errors import ServiceError, ValidationFailed

Req = Request[Any, Any, Any]
READERS = allow("staff", "finance", "admin")
FINANCE = allow("finance", "admin")
CONTACTS = allow("resident")
SHOWN = ("all", "open", "overdue", "paid", "credited", "credit_notes")
PAGE_SIZE = 100  # invoices a page
MAX_FILE = 1_000_000  # bytes: what the API takes as `csv`
# A service's field -> this page's input.
FIELDS = {"rows": "csv", "body": "csv", "lines": "line", "order_id": "line"}


def on_form(exc: ServiceError) -> ServiceError:
    field = exc.field or ""
    if field in FIELDS or field.startswith("lines["):
        exc.details["field"] = FIELDS.get(field, "line")
    return exc


async def invoice_list(
    request: Req, show: str, organisation_id: str | None = None, offset: int = 0
) -> iv.InvoiceList:
    """A page of the invoices to show (`show`: one of SHOWN), newest first."""
    return await fetch(
        request,
        "list_invoices",
        iv.InvoiceList,
        overdue=show == "overdue" or None,
        state=show if show in ("open", "paid", "credited") else None,
        kind="credit_note" if show == "credit_notes" else None if show == "all" else "invoice",
        organisation_id=organisation_id,
        limit=PAGE_SIZE,
        offset=offset,
    )


@get("/finance/invoices", name="web:invoices", guards=READERS)
async def invoices(
    request: Req, show: FromQuery[str] = "all", offset: FromQuery[int] = 0
) -> Response[str]:
    show = show if show in SHOWN else "all"
    offset = max(0, min(offset, 1_000_000_000))
    found = await invoice_list(request, show, offset=offset)
    return page(
        request,
        "staff/invoices.html",
        show=show,
        shown=SHOWN,
        invoices=found.invoices,
        previous=f"/finance/invoices?show={show}&offset={max(0, offset - PAGE_SIZE)}"
        if offset
        else None,
        next=f"/finance/invoices?show={show}&offset={offset + PAGE_SIZE}"
        if len(found.invoices) == PAGE_SIZE
        else None,
    )


@dataclass(frozen=True, slots=True)
class InvoicePage:
    invoice: iv.InvoiceView
    credit_notes: list[iv.InvoiceView]  # of this invoice (or, for a credit note, its original)
    may_credit: bool


async def invoice_page(request: Req, invoice_id: str, staff: bool) -> InvoicePage:
    invoice = await fetch(request, "get_invoice", iv.InvoiceView, invoice_id=invoice_id)
    related: list[iv.InvoiceView] = []
    if invoice.kind == "invoice":
        theirs = await fetch(
            request,
            "list_invoices",
            iv.InvoiceList,
            organisation_id=str(invoice.organisation_id),
            limit=500,
        )
        related = [i for i in theirs.invoices if i.credits == invoice.invoice_id]
    may = staff and invoice.kind == "invoice" and invoice.state != "credited"
    return InvoicePage(invoice=invoice, credit_notes=related, may_credit=may)


@get("/finance/invoices/{invoice_id:str}", name="web:invoice", guards=READERS)
async def invoice(request: Req, invoice_id: FromPath[str]) -> Response[str]:
    view = await invoice_page(request, invoice_id, staff=True)
    return page(request, "staff/invoice.html", view=view, back="/finance/invoices")


def chosen_lines(invoice: iv.InvoiceView, line_ids: list[str]) -> list[iv.InvoiceLine]:
    if not line_ids:
        raise ValidationFailed("choose the lines to credit", field="line")
    chosen = [line for line in invoice.lines if str(line.line_id) in line_ids]
    if len(chosen) != len(set(line_ids)):
        raise ValidationFailed("not a line of this invoice", field="line")
    return chosen


def _reason(value: Any) -> str:
    reason = str(value or "").strip()
    if not reason:
        raise ValidationFailed("give a reason", field="reason")
    if len(reason) > 500:
        raise ValidationFailed("at most 500 characters", field="reason")
    return reason


@get("/finance/invoices/{invoice_id:str}/credit", name="web:credit_confirm", guards=READERS)
async def credit_confirm(
    request: Req,
    invoice_id: FromPath[str],
    line: FromQuery[list[str] | None] = None,
    reason: FromQuery[str] = "",
) -> Response[str] | Redirect:
    """A credit note is confirmed first: the lines, the amount and the reason."""
    view = await invoice_page(request, invoice_id, staff=True)
    back = f"/finance/invoices/{invoice_id}"
    values = {"reason": reason, **({"line": line[0]} if line else {})}
    try:
        lines = chosen_lines(view.invoice, line or [])
        text = _reason(reason)
    except ValidationFailed as exc:
        refused = back_to_form(request, exc, to=back, values=values)
        assert refused is not None  # a 422 to a page of ours
        return refused
    return page(
        request,
        "staff/credit_confirm.html",
        view=view,
        lines=lines,
        total=sum(x.gross_cents for x in lines),
        reason=text,
        key=new_key(),
    )


@post("/finance/invoices/{invoice_id:str}/credit", name="web:credit", guards=READERS)
async def credit(request: Req, invoice_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    view = await invoice_page(request, invoice_id, staff=True)
    lines = chosen_lines(view.invoice, [str(x) for x in form.getall("line", [])])
    try:
        await fetch(
            request,
            "staff_refund",
            pm.RefundView,
            order_id=str(view.invoice.order_id),
            lines=[{"line_id": str(x.line_id), "amount_cents": x.gross_cents} for x in lines],
            reason=_reason(form.get("reason")),
            idempotency_key=str(form.get("key") or new_key()),
        )
    except ServiceError as exc:
        raise on_form(exc) from None
    return Redirect(path=f"/finance/invoices/{invoice_id}?done=done_credited", status_code=303)


@get("/finance/invoice-payments", name="web:invoice_payments", guards=FINANCE)
async def payments_form(request: Req) -> Response[str]:
    return page(request, "staff/invoice_payments.html", result=None, expected={}, key=new_key())


async def _file_text(form: Any) -> str:
    upload = form.get("file")
    pasted = str(form.get("csv") or "")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return pasted
    raw = await upload.read(MAX_FILE + 1)
    if len(raw) > MAX_FILE:
        raise ValidationFailed("the file is larger than 1 MB", field="csv")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # a bank's file may be in ISO-8859-1
    return text + ("\n" + pasted if pasted.strip() else "")


@post("/finance/invoice-payments", name="web:invoice_payments_import", guards=FINANCE)
async def import_payments(request: Req) -> Response[str]:
    form = await read_form(request)
    text = await _file_text(form)
    if not text.strip():
        raise ValidationFailed("choose the bank's file", field="csv")
    try:
        result = await fetch(
            request,
            "import_invoice_payments",
            iv.InvoicePaymentImport,
            csv=text,
            idempotency_key=str(form.get("key") or new_key()),
        )
    except ServiceError as exc:
        raise on_form(exc) from None
    return page(
        request,
        "staff/invoice_payments.html",
        result=result,
        expected=await _expected(request, result),
        key=new_key(),
    )


async def _expected(request: Req, result: iv.InvoicePaymentImport) -> dict[str, int]:
    """What each invoice paid with a wrong amount still waits for (invoice id -> cents)."""
    wrong = {str(r.invoice_id) for r in result.results if r.outcome == "amount_mismatch"}
    found = {}
    for invoice_id in sorted(wrong)[:50]:  # the page shows the first ones' amounts
        invoice = await fetch(request, "get_invoice", iv.InvoiceView, invoice_id=invoice_id)
        found[invoice_id] = invoice.open_cents
    return found


@dataclass(frozen=True, slots=True)
class OrganisationInvoices:
    organisation: iv.OrganisationView
    invoices: list[iv.InvoiceView]


@get("/invoices", name="web:my_invoices", guards=CONTACTS)
async def my_invoices(request: Req) -> Response[str]:
    """A contact person's organisations and their invoices (the service shows them theirs)."""
    mine = await fetch(request, "list_organisations", iv.OrganisationList, limit=50)
    groups = []
    for org in mine.organisations:
        found = await invoice_list(request, "all", str(org.organisation_id))
        groups.append(OrganisationInvoices(organisation=org, invoices=found.invoices))
    return page(request, "invoices.html", groups=groups)


@get("/invoices/{invoice_id:uuid}", name="web:my_invoice", guards=CONTACTS)
async def my_invoice(request: Req, invoice_id: FromPath[uuid.UUID]) -> Response[str]:
    view = await invoice_page(request, str(invoice_id), staff=False)
    return page(request, "staff/invoice.html", view=view, back="/invoices")


ROUTES = [
    invoices,
    invoice,
    credit_confirm,
    credit,
    payments_form,
    import_payments,
    my_invoices,
    my_invoice,
]
