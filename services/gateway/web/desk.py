"""The service desk page (issue 19): staff find a customer (or make a record for a phone
booker), book for them, and take the payment at the desk (receipt to print) or make a payment
link; and the customer's page of a payment link (`/pay/link/{token}`, no sign-in).

Each form's errors come back to the form (web/forms.py) under this page's own field names."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.gateway.auth import allow
from services.gateway.routes.replies import absolute_url
from services.gateway.web.clerk import resources_of
from services.gateway.web.desk_invoice import booked_for, desk_organisations
from services.gateway.web.forms import (
    carried_refund,
    read_form,
)
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import HELSINKI, page, today
from services.gateway.web.resident import cancel_and_go_back
from shared.contracts import booking as bk
from shared.contracts import cart as ct
from shared.contracts import desk as dk
from shared.contracts import payment as pm
from shared.errors import ServiceError, ValidationFailed

Req = Request[Any, Any, Any]
DESK = allow("staff", "library_clerk", "gis_clerk", "admin")
RECEIPTS = allow("staff", "library_clerk", "gis_clerk", "finance", "admin")
ANYONE = allow(public=True)
# A service's field -> this page's input (the error shows beside it).
FIELDS = {
    "items[0].resource_id": "resource_id",
    "items[0].starts_at": "start",
    "items[0].ends_at": "length",
    "items[0].places": "resource_id",
    "items": "resource_id",
    "starts_at": "start",
    "ends_at": "length",
    "contact.name": "name",
    "contact.phone": "phone",
    "contact.email": "email",
    "reservation_id": "resource_id",
    "order_id": "register_id",
    "customer": "q",
}


def _on_form(exc: ServiceError) -> ServiceError:
    """The error named by this page's input (booking's `details["reason"]` says which check
    of a time failed: past, closed, notice, too_far, too_short, too_long)."""
    field = exc.field
    if field in FIELDS:
        exc.details["field"] = FIELDS[field]
    return exc


def _desk(**query: str) -> str:
    kept = {k: v for k, v in query.items() if v}
    return "/staff/desk" + (f"?{urlencode(kept)}" if kept else "")


@get("/staff/desk", name="web:desk", guards=DESK)
async def desk(
    request: Req,
    q: FromQuery[str] = "",
    customer: FromQuery[str] = "",
    name: FromQuery[str] = "",
    order: FromQuery[str] = "",
) -> Response[str]:
    hits: list[dk.DeskCustomerHit] = []
    searched = bool(q.strip())
    if searched:
        try:
            found = await fetch(request, "desk_search", dk.DeskSearchReply, q=q.strip())
            hits = found.customers
        except ValidationFailed as exc:
            raise _on_form(exc) from None
    resources: list[bk.ResourceSummary] = []
    chosen_order: ct.OrderView | None = None
    if customer:
        resources = await resources_of(request)
    if order:
        chosen_order = await fetch(request, "get_order", ct.OrderView, order_id=order)
    awaiting = chosen_order is not None and chosen_order.state == "awaiting_payment"
    organisations = await desk_organisations(request) if customer or awaiting else []
    return page(
        request,
        "staff/desk.html",
        q=q,
        searched=searched,
        hits=hits,
        customer=customer,
        customer_name=name,
        resources=resources,
        order=chosen_order,
        organisations=organisations,
        invoice_to=booked_for(chosen_order),
        refund=carried[1] if (carried := carried_refund(request)) else None,  # never the URL's
        day=today().isoformat(),
        key=new_key(),
    )


@post("/staff/desk/customers", name="web:desk_customer", guards=DESK)
async def new_customer(request: Req) -> Redirect:
    form = await read_form(request)
    made = await fetch(
        request,
        "desk_customer_create",
        dk.DeskCustomer,
        checked_as=dk.DeskCustomerCreate,
        name=str(form.get("name") or "").strip(),
        email=str(form.get("email") or "").strip(),
        phone=str(form.get("phone") or "").strip(),
        language=str(form.get("language") or "fi"),
        idempotency_key=str(form.get("key") or new_key()),
    )
    return Redirect(path=_desk(customer=made.customer, name=made.name), status_code=303)


def _start(day: str, start: str) -> datetime:
    try:
        on = datetime.fromisoformat(day).date()
    except ValueError:
        raise ValidationFailed("not a date", field="day") from None
    try:
        at = time.fromisoformat(start)
    except ValueError:
        raise ValidationFailed("not a time (hh:mm)", field="start") from None
    return datetime.combine(on, at, HELSINKI)


def _length(value: str) -> timedelta:
    try:
        minutes = int(float(value.replace(",", ".")) * 60)
    except ValueError:
        raise ValidationFailed("not a number of hours", field="length") from None
    if not 15 <= minutes <= 24 * 60:
        raise ValidationFailed("from 0.25 to 24 hours", field="length")
    return timedelta(minutes=minutes)


@post("/staff/desk/bookings", name="web:desk_book", guards=DESK)
async def book_for(request: Req) -> Redirect:
    """Hold for the customer, put it into their cart, check out: an order to pay."""
    form = await read_form(request)
    customer = str(form.get("customer") or "")
    key = str(form.get("key") or new_key())
    starts = _start(str(form.get("day") or ""), str(form.get("start") or ""))
    ends = starts + _length(str(form.get("length") or "1"))
    contact_name = str(form.get("contact_name") or "").strip()
    contact = {"name": contact_name} if contact_name else None
    try:
        held = await fetch(
            request,
            "desk_hold",
            bk.HoldReply,
            customer=customer,
            items=[
                {
                    "resource_id": str(form.get("resource_id") or ""),
                    "starts_at": starts.isoformat(),
                    "ends_at": ends.isoformat(),
                }
            ],
            contact=contact,
            home_municipality="853" if form.get("resident") else None,
            organisation_id=str(form.get("organisation_id") or "") or None,  # booking checks it
            idempotency_key=f"{key}-hold",
        )
        [reservation] = held.reservations
        await fetch(
            request,
            "desk_add_reservation",
            ct.CartView,
            customer=customer,
            reservation_id=reservation.reservation_id,
            idempotency_key=f"{key}-cart",
        )
        order = await fetch(
            request,
            "desk_checkout",
            ct.OrderView,
            customer=customer,
            idempotency_key=f"{key}-order",
        )
    except ServiceError as exc:
        raise _on_form(exc) from None
    name = str(form.get("customer_name") or "")
    return Redirect(
        path=_desk(customer=customer, name=name, order=str(order.order_id)), status_code=303
    )


@post("/staff/desk/orders/{order_id:str}/payments", name="web:desk_pay", guards=DESK)
async def pay_at_desk(request: Req, order_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    method = str(form.get("method") or "card")
    if method not in ("card", "cash"):
        raise ValidationFailed("choose card or cash", field="method")
    try:
        paid = await fetch(
            request,
            "desk_pay",
            pm.PaymentView,
            order_id=order_id,
            register_id=str(form.get("register_id") or "").strip(),
            method=method,
            idempotency_key=str(form.get("key") or new_key()),
        )
    except ServiceError as exc:
        raise _on_form(exc) from None
    return Redirect(path=f"/staff/desk/receipts/{paid.payment_id}", status_code=303)


@post("/staff/desk/orders/{order_id:str}/links", name="web:desk_link", guards=DESK)
async def payment_link(request: Req, order_id: FromPath[str]) -> Response[str]:
    form = await read_form(request)
    made = await fetch(
        request,
        "create_payment_link",
        dk.PaymentLink,
        order_id=order_id,
        idempotency_key=str(form.get("key") or new_key()),
    )
    order = await fetch(request, "get_order", ct.OrderView, order_id=order_id)
    return page(
        request,
        "staff/desk_link.html",
        link=absolute_url(request, made.url),
        expires_at=made.expires_at,
        order=order,
    )


@post("/staff/desk/reservations/{reservation_id:str}/cancel", name="web:desk_cancel", guards=DESK)
async def cancel_for(request: Req, reservation_id: FromPath[str]) -> Redirect:
    """Cancelled for the customer by their own policy; back to the order with the refund."""
    form = await read_form(request)
    reason = str(form.get("reason") or "").strip()
    if not reason:
        raise ValidationFailed("give a reason", field="reason")
    return await cancel_and_go_back(
        request,
        "desk_cancel",
        _desk(
            customer=str(form.get("customer") or ""),
            name=str(form.get("customer_name") or ""),
            order=str(form.get("order") or ""),
        ),
        reservation_id=reservation_id,
        reason=reason,
        idempotency_key=str(form.get("key") or new_key()),
    )


@get("/staff/desk/receipts/{payment_id:str}", name="web:desk_receipt", guards=RECEIPTS)
async def receipt(request: Req, payment_id: FromPath[str]) -> Response[str]:
    """The desk payment's receipt, to print (or to save and e-mail)."""
    found = await fetch(request, "desk_receipt", dk.DeskReceipt, payment_id=payment_id)
    return page(request, "staff/desk_receipt.html", receipt=found)


@get("/pay/link/{token:str}", name="web:payment_link", guards=ANYONE)
async def link_page(
    request: Req, token: FromPath[str], payment_id: FromQuery[str] = ""
) -> Response[str]:
    """The customer's page of a payment link: the order's number and amount, and a button
    to pay online (with the local test provider, its pay / decline buttons)."""
    shown = await fetch(request, "payment_link", dk.PaymentLinkView, token=token)
    return page(request, "payment_link.html", link=shown, token=token, payment_id=payment_id)


@post("/pay/link/{token:str}", name="web:payment_link_pay", guards=ANYONE)
async def link_pay(request: Req, token: FromPath[str]) -> Redirect:
    started = await fetch(request, "pay_by_link", pm.PaymentView, token=token)
    target = started.redirect_url or f"/pay/link/{token}"
    return Redirect(path=target, status_code=303)


@post("/pay/link/{token:str}/local", name="web:payment_link_local", guards=ANYONE)
async def link_local(request: Req, token: FromPath[str]) -> Response[str]:
    form = await read_form(request)
    decision = str(form.get("decision") or "")
    if decision not in ("pay", "decline", "abandon"):
        raise ValidationFailed("choose pay, decline or abandon", field="decision")
    decided, shown = await asyncio.gather(
        fetch(
            request,
            "pay_by_link_local",
            pm.PaymentView,
            token=token,
            payment_id=str(form.get("payment_id") or ""),
            decision=decision,
        ),
        fetch(request, "payment_link", dk.PaymentLinkView, token=token),
    )
    return page(
        request,
        "payment_link.html",
        link=shown,
        token=token,
        payment_id="",
        decided=decision,
        payment=decided,
    )


ROUTES = [
    desk,
    cancel_for,
    new_customer,
    book_for,
    pay_at_desk,
    payment_link,
    receipt,
    link_page,
    link_pay,
    link_local,
]
