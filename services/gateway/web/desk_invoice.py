"""The service desk's side of organisations (issue 19): the clerk books for an organisation
("Book for" on the desk's booking form: priced by its customer group) and invoices the order
to it (`/staff/desk/orders/{order_id}/invoice`): the invoice is shown with its number,
reference number and due date. A private customer's order is refused on the form, naming
the choice of organisation, nothing invoiced."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from services.gateway.auth import allow
from services.gateway.web.forms import read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page
from shared.contracts import cart as ct
from shared.contracts import invoicing as iv
from shared.errors import ServiceError, ValidationFailed

Req = Request[Any, Any, Any]
log = logging.getLogger(__name__)
DESK = allow("staff", "library_clerk", "gis_clerk", "admin")
# The invoice form's choice of organisation; the service's fields it answers for.
INVOICE_TO = "invoice_to"
FIELDS = {"organisation_id": INVOICE_TO, "order_id": INVOICE_TO, "register_id": INVOICE_TO}


async def desk_organisations(request: Req) -> list[iv.OrganisationView]:
    """The organisations the clerk may book for and invoice (staff: every one, by name);
    none when payment does not answer (booking for the customer still works)."""
    try:
        found = await fetch(request, "list_organisations", iv.OrganisationList, limit=500)
    except ServiceError as exc:
        log.warning("organisations for the service desk not available (%s)", exc.code)
        return []
    return sorted(found.organisations, key=lambda o: o.name.casefold())


def booked_for(order: ct.OrderView | None) -> str:
    """The organisation the order's reservations were booked for ("" for a private one)."""
    if order is None:
        return ""
    found = [x.line.organisation_id for x in order.lines if x.line.organisation_id is not None]
    return str(found[0]) if found else ""


def _organisation_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationFailed("choose the organisation to invoice", field=INVOICE_TO) from None


@post("/staff/desk/orders/{order_id:str}/invoice", name="web:desk_invoice", guards=DESK)
async def invoice_order(request: Req, order_id: FromPath[str]) -> Response[str]:
    """Invoiced to the chosen organisation (the one the order was booked for)."""
    form = await read_form(request)
    organisation_id = _organisation_id(str(form.get(INVOICE_TO) or ""))
    try:
        invoice = await fetch(
            request,
            "desk_invoice",
            iv.InvoiceView,
            order_id=order_id,
            organisation_id=organisation_id,
            register_id=str(form.get("register_id") or "").strip() or None,
            idempotency_key=str(form.get("key") or new_key()),
        )
    except ServiceError as exc:
        if exc.field in FIELDS:
            exc.details["field"] = FIELDS[exc.field]
        raise
    return page(
        request,
        "staff/desk_invoice.html",
        invoice=invoice,
        back=f"/staff/desk?order={invoice.order_id}",
    )


ROUTES = [invoice_order]
