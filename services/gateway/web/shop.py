"""Resident shopping: cart with VAT breakdown, library fees, the GIS shop, checkout and the
receipt with downloads. Forms post and redirect (303); no JavaScript needed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect

from services.gateway.auth import require_principal
from services.gateway.web import gis_map
from services.gateway.web.forms import no_longer_payable, read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import language_of, page
from services.gateway.web.resident import _back, _signed_in
from shared.contracts import cart as ct
from shared.contracts import payment as pm
from shared.errors import Conflict, NotFound, ServiceError, ValidationFailed

Req = Request[Any, Any, Any]


@dataclass(frozen=True, slots=True)
class CartRow:
    """A cart line with its merchant's name and, for a held reservation, when the hold ends."""

    line: ct.CartLineView
    merchant_name: str | None
    expires_at: str | None


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    """An order line as the receipt shows it: what was bought, its state and refunds."""

    line_id: UUID
    kind: str
    description: str
    merchant_id: str
    gross_cents: int
    state: str
    refunded_cents: int
    details: dict[str, object]


def cart_row(line: ct.CartLineView, names: dict[str, str]) -> CartRow:
    expires = line.details.get("expires_at") or line.details.get("hold_expires_at")
    return CartRow(
        line=line,
        merchant_name=names.get(line.merchant_id),
        expires_at=str(expires) if expires else None,
    )


def receipt_row(line: ct.OrderLineView) -> ReceiptRow:
    return ReceiptRow(
        line_id=line.line.line_id,
        kind=line.line.kind,
        description=line.line.description,
        merchant_id=line.line.merchant_id,
        gross_cents=line.line.gross_cents,
        state=line.state,
        refunded_cents=line.refunded_cents,
        details=line.details,
    )


@get("/cart", name="web:cart")
async def cart(request: Req) -> Response[str]:
    _signed_in(request)
    reply = await fetch(request, "get_cart", ct.CartView)
    names = {m.merchant_id: m.merchant_name for m in reply.merchants}
    return page(
        request,
        "cart.html",
        cart=reply,
        lines=[cart_row(line, names) for line in reply.lines],
        vat=reply.vat,
        messages=reply.messages,
        key=new_key(),
    )


@post("/cart/lines/{line_id:str}/remove", name="web:remove_line")
async def remove_line(request: Req, line_id: FromPath[str]) -> Redirect:
    _signed_in(request)
    await fetch(request, "remove_line", ct.CartView, line_id=line_id, idempotency_key=new_key())
    return _back("/cart", "done_saved")


@get("/library", name="web:library")
async def library(request: Req) -> Response[str]:
    _signed_in(request)
    debits: ct.LibraryDebits | None
    try:
        debits = await fetch(request, "library_debits", ct.LibraryDebits)
    except (NotFound, ValidationFailed, Conflict):
        debits = None  # no library card linked yet
    return page(request, "library.html", debits=debits, key=new_key())


@post("/library/card", name="web:link_card")
async def link_card(request: Req) -> Redirect:
    _signed_in(request)
    form = await read_form(request)
    await fetch(
        request,
        "link_library_card",
        ct.LibraryCard,
        card_number=form.get("card_number", ""),
        pin=form.get("pin", ""),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/library", "done_saved")


@post("/library/debits", name="web:add_debits")
async def add_debits(request: Req) -> Redirect:
    _signed_in(request)
    form = await read_form(request)
    chosen = [int(v) for v in form.getall("debit") if str(v).isdigit()] if "debit" in form else []
    if not chosen:
        raise ValidationFailed("choose at least one fee", field="debit")
    await fetch(
        request,
        "add_library_debits",
        ct.CartView,
        account_line_ids=chosen,
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/cart", "done_added")


@get("/gis", name="web:gis")
async def gis(request: Req) -> Response[str]:
    reply = await fetch(request, "gis_catalogue", ct.GisProductList)
    settings = request.app.state.gateway_settings
    lang = language_of(request)
    products = [gis_map.offer_of(p, lang) for p in reply.products]
    response = page(
        request,
        "gis.html",
        products=products,
        key=new_key(),
        map_tiles=settings.gateway_map_tiles_url,
        map_attribution=settings.gateway_map_attribution,
        licence_name=lambda kind: gis_map.licence_name(kind, lang),
    )
    response.headers["content-security-policy"] = gis_map.page_csp(settings.gateway_map_tiles_url)
    return response


@post("/gis/add", name="web:add_gis")
async def add_gis(request: Req) -> Redirect:
    _signed_in(request)
    form = await read_form(request)
    if form.get("accept_licence") != "yes":
        raise ValidationFailed("accept the licence terms", field="accept_licence")
    area, area_crs = None, form.get("area_crs") or None
    upload = form.get("area_file")
    if isinstance(upload, UploadFile) and upload.filename:  # a file beats the text field
        area, stated = gis_map.area_from_file(await upload.read(gis_map.MAX_FILE_BYTES + 1))
        area_crs = stated or area_crs
    elif form.get("area"):
        try:
            area = json.loads(form["area"])
        except ValueError:
            raise ValidationFailed("the area is not GeoJSON", field="area") from None
    await fetch(
        request,
        "add_gis_product",
        ct.CartView,
        product_id=form.get("product_id"),
        format=form.get("format") or None,
        licence_type=form.get("licence_type") or None,
        area=area,
        area_crs=area_crs,
        coordinate_system=form.get("coordinate_system") or None,
        purpose_of_use=form.get("purpose", ""),
        licence_accepted=True,
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/cart", "done_added")


@post("/checkout", name="web:checkout")
async def checkout(request: Req) -> Redirect:
    _signed_in(request)
    form = await read_form(request)
    key = form.get("key") or new_key()
    order = await fetch(request, "checkout", ct.OrderView, idempotency_key=key)
    return await _to_payment(request, str(order.order_id), f"{key}-pay")


@post("/orders/{order_id:str}/pay", name="web:pay_order")
async def pay_order(request: Req, order_id: FromPath[str]) -> Redirect:
    """Pay an order still awaiting payment again (a payment declined, or the provider's page
    left): a new attempt at the provider, within the order's payment window."""
    _signed_in(request)
    form = await read_form(request)
    return await _to_payment(request, order_id, form.get("key") or new_key())


async def _to_payment(request: Req, order_id: str, key: str) -> Redirect:
    """Start paying the order and send the browser to the provider's page (the order's own
    page when nothing is to be paid there)."""
    try:
        payment = await fetch(
            request, "start_payment", pm.PaymentView, order_id=order_id, idempotency_key=key
        )
    except ServiceError as exc:
        notice = no_longer_payable(exc)
        if notice is None:
            raise
        return Redirect(path=f"/orders/{quote(order_id)}?done={notice}", status_code=303)
    target = payment.redirect_url or f"/orders/{quote(order_id)}"
    return Redirect(path=target, status_code=303)


@get("/orders/{order_id:str}", name="web:receipt")
async def receipt(request: Req, order_id: FromPath[str]) -> Response[str]:
    principal = require_principal(request)
    order = await fetch(request, "get_order", ct.OrderView, order_id=order_id)
    lines = [receipt_row(line) for line in order.lines]
    payable = (
        order.state == "awaiting_payment"
        and order.customer == principal.subject
        and order.payment_deadline > datetime.now(UTC)
    )
    return page(
        request,
        "receipt.html",
        order=order,
        lines=lines,
        refunded=sum(line.refunded_cents for line in lines),
        vat=order.vat,
        downloads=order.downloads,
        payable=payable,
        key=new_key(),
    )


ROUTES = [
    cart,
    remove_line,
    library,
    link_card,
    add_debits,
    gis,
    add_gis,
    checkout,
    pay_order,
    receipt,
]
