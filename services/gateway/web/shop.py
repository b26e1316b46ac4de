"""Resident shopping: cart with VAT breakdown, library fees, the GIS shop, checkout and the
receipt with downloads. Forms post and redirect (303); no JavaScript needed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect

from services.gateway.web import gis_map
from services.gateway.web.forms import read_form
from services.gateway.web.ops import call, new_key
from services.gateway.web.render import language_of, page
from services.gateway.web.resident import _back, _items, _signed_in
from shared.errors import Conflict, NotFound, ValidationFailed

Req = Request[Any, Any, Any]


@get("/cart", name="web:cart")
async def cart(request: Req) -> Response[str]:
    _signed_in(request)
    reply = await call(request, "get_cart")
    names = {m.get("merchant_id"): m.get("merchant_name") for m in _items(reply, "merchants")}
    lines = [
        line | {"merchant_name": names.get(line.get("merchant_id"))}
        for line in _items(reply, "lines")
    ]
    vat = _items(reply, "vat")
    return page(
        request,
        "cart.html",
        cart=reply or {},
        lines=lines,
        vat=vat,
        messages=_items(reply, "messages"),
        key=new_key(),
    )


@post("/cart/lines/{line_id:str}/remove", name="web:remove_line")
async def remove_line(request: Req, line_id: FromPath[str]) -> Redirect:
    _signed_in(request)
    await call(request, "remove_line", line_id=line_id, idempotency_key=new_key())
    return _back("/cart", "done_saved")


@get("/library", name="web:library")
async def library(request: Req) -> Response[str]:
    _signed_in(request)
    try:
        debits = await call(request, "library_debits")
    except (NotFound, ValidationFailed, Conflict):
        debits = None  # no library card linked yet
    return page(request, "library.html", debits=debits, key=new_key())


@post("/library/card", name="web:link_card")
async def link_card(request: Req) -> Redirect:
    _signed_in(request)
    form = await read_form(request)
    await call(
        request,
        "link_library_card",
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
    await call(
        request,
        "add_library_debits",
        account_line_ids=chosen,
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/cart", "done_added")


@get("/gis", name="web:gis")
async def gis(request: Req) -> Response[str]:
    reply = await call(request, "gis_catalogue")
    settings = request.app.state.gateway_settings
    lang = language_of(request)
    products = [gis_map.with_map_data(p, lang) for p in _items(reply, "products", "items")]
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
    await call(
        request,
        "add_gis_product",
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
    order = await call(request, "checkout", idempotency_key=key)
    order_id = order.get("order_id") or order.get("id")
    payment = await call(request, "start_payment", order_id=order_id, idempotency_key=f"{key}-pay")
    target = str(payment.get("redirect_url") or f"/orders/{quote(str(order_id))}")
    return Redirect(path=target, status_code=303)


@get("/orders/{order_id:str}", name="web:receipt")
async def receipt(request: Req, order_id: FromPath[str]) -> Response[str]:
    _signed_in(request)
    order = await call(request, "get_order", order_id=order_id)
    lines = [
        line.get("line", line)
        | {
            "state": line.get("state"),
            "details": line.get("details") or {},
            "refunded_cents": line.get("refunded_cents") or 0,
        }
        for line in _items(order, "lines")
    ]
    refunded = sum(int(line.get("refunded_cents") or 0) for line in lines)
    return page(
        request,
        "receipt.html",
        order=order,
        lines=lines,
        refunded=refunded,
        vat=_items(order, "vat"),
        downloads=_items(order, "downloads"),
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
    receipt,
]
