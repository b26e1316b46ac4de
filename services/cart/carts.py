"""Use cases of the open cart: view, add reservation / library debits / GIS product, remove."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import msgspec

from services.cart import catalogue_store, library_store, store
from services.cart.access import resident
from services.cart.deps import Deps
from services.cart.domain.library import non_payable_reason
from services.cart.domain.pricing import split_gross
from services.cart.gis import price_gis_line, variant_key
from services.cart.library.base import LibraryError
from services.cart.views import cart_view
from shared import idempotency
from shared.contracts.booking import ReservationForCart, ReservationForCartRequest
from shared.contracts.cart import (
    AddGisProductRequest,
    AddLibraryDebitsRequest,
    AddReservationRequest,
    CartView,
    GetCartRequest,
    Merchant,
    RemoveLineRequest,
)
from shared.contracts.common import Principal, RequestContext
from shared.errors import Conflict, Forbidden, HoldExpired, NotFound, Unavailable, ValidationFailed
from shared.messaging import subject_for

R = TypeVar("R")


async def view(conn: asyncpg.Connection, customer: str, *, take_messages: bool) -> CartView:
    cart_id = await store.open_cart_id(conn, customer)
    rows = await store.cart_lines(conn, cart_id) if cart_id else []
    messages = await store.take_messages(conn, customer) if take_messages else []
    merchants = await catalogue_store.merchants(conn)
    return cart_view(cart_id, customer, rows, merchants, messages)


async def get_cart(deps: Deps, _: GetCartRequest, ctx: RequestContext) -> CartView:
    principal = resident(ctx)
    async with deps.pool.acquire() as conn, conn.transaction():
        return await view(conn, principal.subject, take_messages=True)


async def _add(
    deps: Deps,
    operation: str,
    request: Any,
    principal: Principal,
    lines: list[dict[str, Any]],
    check: Callable[[asyncpg.Connection, uuid.UUID], Awaitable[None]] | None = None,
) -> CartView:
    customer = principal.subject
    async with deps.pool.acquire() as conn, conn.transaction():
        cached = await idempotency.lookup(
            conn, operation, principal, request.idempotency_key, request
        )
        if cached is not None:
            return msgspec.json.decode(cached, type=CartView)
        await store.ensure_open_cart(conn, customer)
        # Locked: a line cannot slip into a cart that a concurrent checkout is freezing.
        cart_id = await store.lock_open_cart(conn, customer)
        if cart_id is None:  # that checkout just committed: a fresh cart
            cart_id = await store.ensure_open_cart(conn, customer)
        merchants = await catalogue_store.merchants(conn)
        for line in lines:
            merchant = merchants.get(line["merchant_id"])
            if merchant is None or not merchant.active or line["kind"] not in merchant.line_kinds:
                raise Conflict(
                    f"{line['merchant_id']} does not sell {line['kind']} lines through the cart",
                    merchant_id=line["merchant_id"],
                )
            await store.insert_line(conn, cart_id, line)
        if check is not None:
            await check(conn, cart_id)
        reply = await view(conn, customer, take_messages=False)
        await idempotency.remember(
            conn, operation, principal, request.idempotency_key, request, reply
        )
        return reply


async def add_reservation(deps: Deps, req: AddReservationRequest, ctx: RequestContext) -> CartView:
    principal = resident(ctx)
    found = await deps.requester.call(
        subject_for("booking", "reservation_for_cart"),
        ReservationForCartRequest(reservation_id=req.reservation_id),
        ReservationForCart,
        ctx=ctx,
    )
    if found.customer != principal.subject:
        raise Forbidden("this reservation is someone else's", field="reservation_id")
    if found.state != "held":
        raise HoldExpired("this reservation is no longer held", field="reservation_id")
    if found.expires_at is not None and found.expires_at <= datetime.now(UTC):
        raise HoldExpired("the hold of this reservation has expired", field="reservation_id")
    line = {
        "kind": "reservation",
        "reference": str(found.reservation_id),
        "description": f"{found.resource_name.fi}, {found.unit_name.fi}",
        "merchant_id": found.merchant_id,
        "cost_centre": found.cost_centre,
        "quantity": found.places,
        "gross_cents": found.gross_cents,
        "net_cents": found.net_cents,
        "vat_cents": found.vat_cents,
        "vat_rate_bp": found.vat_rate_bp,
        "details": {
            "resource_id": str(found.resource_id),
            "starts_at": found.starts_at.isoformat(),
            "ends_at": found.ends_at.isoformat(),
            "expires_at": found.expires_at.isoformat() if found.expires_at else None,
            "resource_name": msgspec.to_builtins(found.resource_name),
        },
    }
    return await _add(deps, "cart.add_reservation", req, principal, [line])


async def patron_or_refuse(conn: asyncpg.Connection, customer: str) -> str:
    patron = await library_store.patron_of(conn, customer)
    if patron is None:
        raise ValidationFailed("link your library card first", field="card_number")
    return patron


async def read_debits(deps: Deps, patron_id: str) -> dict[int, Any]:
    try:
        debits = await deps.library.outstanding_debits(patron_id)
    except LibraryError as exc:
        raise Unavailable("the library system does not answer; try again soon") from exc
    return {d.account_line_id: d for d in debits}


def debit_order_details(order: asyncpg.Record, ident: int, customer: str) -> dict[str, Any]:
    """What a resident is told of the order holding a debit: the way to it when it is theirs
    (a card linked by two accounts does not show one the other's orders)."""
    details: dict[str, Any] = {"field": "account_line_ids", "id": ident}
    details["order_state"] = order["state"]
    if order["customer"] == customer:
        details["order_id"] = str(order["order_id"])
        details["order_number"] = order["order_number"]
    return details


async def library_seller(conn: asyncpg.Connection) -> tuple[Merchant, int]:
    """The merchant of library debits and its VAT rate today (0 % for public-law charges)."""
    merchant = catalogue_store.seller_of(await catalogue_store.merchants(conn), "library_debit")
    if not merchant.vat_code:
        raise Conflict(f"merchant {merchant.id} has no VAT code", merchant_id=merchant.id)
    rate = await catalogue_store.vat_rate_bp(conn, merchant.vat_code, datetime.now(UTC).date())
    return merchant, rate


def library_line(debit: Any, patron_id: str, merchant: Merchant, vat_bp: int) -> dict[str, Any]:
    gross = debit.amount_outstanding_cents
    net, vat = split_gross(gross, vat_bp)
    return {
        "kind": "library_debit",
        "reference": str(debit.account_line_id),
        "description": debit.description,
        "merchant_id": merchant.id,
        "cost_centre": merchant.cost_centre,
        "gross_cents": gross,
        "net_cents": net,
        "vat_cents": vat,
        "vat_rate_bp": vat_bp,
        "details": {"patron_id": patron_id, "debit_type": debit.debit_type},
    }


async def add_library_debits(
    deps: Deps, req: AddLibraryDebitsRequest, ctx: RequestContext
) -> CartView:
    principal = resident(ctx)
    if not req.account_line_ids:
        raise ValidationFailed("choose at least one debit", field="account_line_ids")
    async with deps.pool.acquire() as conn:
        patron = await patron_or_refuse(conn, principal.subject)
        merchant, vat_bp = await library_seller(conn)
        held = await library_store.debits_in_orders(conn, [str(i) for i in req.account_line_ids])
    for ident in req.account_line_ids:
        order = held.get(str(ident))
        if order is not None:
            raise Conflict(
                "this debit is already paid or being paid",
                **debit_order_details(order, ident, principal.subject),
            )
    outstanding = await read_debits(deps, patron)
    lines = []
    for ident in req.account_line_ids:
        debit = outstanding.get(ident)
        if debit is None:
            raise Conflict(
                "this debit is not outstanding (already paid?)", field="account_line_ids", id=ident
            )
        reason = non_payable_reason(debit.debit_type, deps.settings.non_payable_types)
        if reason:
            raise ValidationFailed(reason, field="account_line_ids", id=ident)
        lines.append(library_line(debit, patron, merchant, vat_bp))

    async def minimum(conn: asyncpg.Connection, cart_id: uuid.UUID) -> None:
        total = sum(
            r["gross_cents"]
            for r in await store.cart_lines(conn, cart_id)
            if r["kind"] == "library_debit"
        )
        least = deps.settings.library_minimum_payable_cents
        if total < least:
            raise ValidationFailed(
                f"library payments start at {least / 100:.2f} €",
                field="account_line_ids",
            )

    return await _add(deps, "cart.add_library_debits", req, principal, lines, minimum)


async def add_gis_product(deps: Deps, req: AddGisProductRequest, ctx: RequestContext) -> CartView:
    principal = resident(ctx)
    async with deps.pool.acquire() as conn:
        product = await catalogue_store.gis_product(conn, req.product_id)
        if not product.active:
            raise Conflict("this product is not sold any more", field="product_id")
        merchant = catalogue_store.seller_of(await catalogue_store.merchants(conn), "gis_product")
        vat_bp = await catalogue_store.vat_rate_bp(conn, product.vat_code, datetime.now(UTC).date())
    gross, details = price_gis_line(product, req)
    net, vat = split_gross(gross, vat_bp)
    line = {
        "kind": "gis_product",
        "reference": f"{product.id}:{variant_key(details)}",
        "description": f"{product.name_fi} ({req.format}, {req.coordinate_system})",
        "merchant_id": merchant.id,
        "cost_centre": product.cost_centre,
        "quantity": req.quantity,
        "gross_cents": gross,
        "net_cents": net,
        "vat_cents": vat,
        "vat_rate_bp": vat_bp,
        "details": details,
    }
    return await _add(deps, "cart.add_gis_product", req, principal, [line])


async def remove_line(deps: Deps, req: RemoveLineRequest, ctx: RequestContext) -> CartView:
    principal = resident(ctx)
    async with deps.pool.acquire() as conn, conn.transaction():
        cart_id = await store.open_cart_id(conn, principal.subject)
        if cart_id is None or not await store.delete_line(conn, cart_id, req.line_id):
            raise NotFound("no such line in your cart", field="line_id")
        return await view(conn, principal.subject, take_messages=False)
