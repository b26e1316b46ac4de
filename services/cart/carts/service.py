"""Use cases of the open cart: view it, add a reservation (priced by booking), library debits
(read from the library) or a GIS product (priced here), remove a line. Booking and the
library are asked before the cart's transaction opens."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from services.cart.access import resident
from services.cart.booking import Booking
from services.cart.carts import store
from services.cart.catalogue import store as catalogue
from services.cart.domain.days import sale_day, utc_now
from services.cart.domain.gis import price_gis_line, variant_key
from services.cart.domain.library import (
    Debit,
    debit_order_details,
    library_line,
    non_payable_reason,
)
from services.cart.domain.merchants import check_sells, seller_of
from services.cart.domain.model import LineDraft
from services.cart.domain.pricing import split_gross
from services.cart.gis import store as gis
from services.cart.library import store as library
from services.cart.library.accounts import LibraryAccounts, library_seller, patron_or_refuse
from services.cart.settings import CartSettings
from services.cart.views import cart_view
from shared import idempotency
from shared.contracts.booking import ReservationForCart
from shared.contracts.cart import (
    AddGisProductRequest,
    AddLibraryDebitsRequest,
    AddReservationRequest,
    CartView,
    GetCartRequest,
    RemoveLineRequest,
)
from shared.contracts.common import Principal, RequestContext
from shared.errors import Conflict, Forbidden, HoldExpired, NotFound, ValidationFailed

Check = Callable[[asyncpg.Connection, uuid.UUID], Awaitable[None]]


async def view(conn: asyncpg.Connection, customer: str, *, take_messages: bool) -> CartView:
    cart_id = await store.open_cart_id(conn, customer)
    rows = await store.cart_lines(conn, cart_id) if cart_id else []
    messages = await store.take_messages(conn, customer) if take_messages else []
    merchants = await catalogue.merchants(conn)
    return cart_view(cart_id, customer, rows, merchants, messages)


def reservation_line(found: ReservationForCart) -> LineDraft:
    """A held reservation as a cart line, at booking's price."""
    return LineDraft(
        kind="reservation",
        reference=str(found.reservation_id),
        description=f"{found.resource_name.fi}, {found.unit_name.fi}",
        merchant_id=found.merchant_id,
        cost_centre=found.cost_centre,
        quantity=found.places,
        gross_cents=found.gross_cents,
        net_cents=found.net_cents,
        vat_cents=found.vat_cents,
        vat_rate_bp=found.vat_rate_bp,
        details={
            "resource_id": str(found.resource_id),
            "starts_at": found.starts_at.isoformat(),
            "ends_at": found.ends_at.isoformat(),
            "expires_at": found.expires_at.isoformat() if found.expires_at else None,
            "resource_name": msgspec.to_builtins(found.resource_name),
            "unit_name": msgspec.to_builtins(found.unit_name),
            "organisation_id": str(found.organisation_id) if found.organisation_id else None,
        },
    )


class Carts:
    def __init__(
        self,
        pool: asyncpg.Pool,
        booking: Booking,
        library: LibraryAccounts,
        settings: CartSettings,
    ) -> None:
        self.pool = pool
        self.booking = booking
        self.library = library
        self.settings = settings
        # The instant now (UTC); a sale's day is its day in Helsinki (`sale_day`).
        self.clock: Callable[[], datetime] = utc_now

    async def get_cart(self, _: GetCartRequest, ctx: RequestContext) -> CartView:
        principal = resident(ctx)
        async with self.pool.acquire() as conn, conn.transaction():
            return await view(conn, principal.subject, take_messages=True)

    async def _add(
        self,
        operation: str,
        request: Any,
        principal: Principal,
        lines: list[LineDraft],
        check: Check | None = None,
    ) -> CartView:
        """Put lines into the principal's open cart (idempotent by the request's key)."""
        customer = principal.subject
        async with self.pool.acquire() as conn, conn.transaction():
            key = request.idempotency_key
            cached = await idempotency.lookup(conn, operation, principal, key, request)
            if cached is not None:
                return msgspec.json.decode(cached, type=CartView)
            await store.ensure_open_cart(conn, customer)
            # Locked: a line cannot slip into a cart that a concurrent checkout is freezing.
            cart_id = await store.lock_open_cart(conn, customer)
            if cart_id is None:  # that checkout just committed: a fresh cart
                cart_id = await store.ensure_open_cart(conn, customer)
            merchants = await catalogue.merchants(conn)
            for line in lines:
                check_sells(merchants, line.merchant_id, line.kind)
                await store.insert_line(conn, cart_id, line)
            if check is not None:
                await check(conn, cart_id)
            reply = await view(conn, customer, take_messages=False)
            await idempotency.remember(conn, operation, principal, key, request, reply)
            return reply

    async def add_reservation(self, req: AddReservationRequest, ctx: RequestContext) -> CartView:
        principal = resident(ctx)
        found = await self.booking.reservation_for_cart(req.reservation_id, ctx)
        if found.customer != principal.subject:
            raise Forbidden("this reservation is someone else's", field="reservation_id")
        if found.state != "held":
            raise HoldExpired("this reservation is no longer held", field="reservation_id")
        if found.expires_at is not None and found.expires_at <= datetime.now(UTC):
            raise HoldExpired("the hold of this reservation has expired", field="reservation_id")
        line = reservation_line(found)
        return await self._add("cart.add_reservation", req, principal, [line])

    async def add_library_debits(
        self, req: AddLibraryDebitsRequest, ctx: RequestContext
    ) -> CartView:
        principal = resident(ctx)
        if not req.account_line_ids:
            raise ValidationFailed("choose at least one debit", field="account_line_ids")
        async with self.pool.acquire() as conn:
            patron = await patron_or_refuse(conn, principal.subject)
            merchant, vat_bp = await library_seller(conn, sale_day(self.clock()))
            held = await library.debits_in_orders(conn, [str(i) for i in req.account_line_ids])
        for ident in req.account_line_ids:
            holder = held.get(str(ident))
            if holder is not None:
                raise Conflict(
                    "this debit is already paid or being paid",
                    **debit_order_details(holder, ident, principal.subject),
                )
        outstanding = await self.library.outstanding(patron)
        lines = [
            library_line(self._payable(outstanding.get(ident), ident), patron, merchant, vat_bp)
            for ident in req.account_line_ids
        ]
        return await self._add(
            "cart.add_library_debits", req, principal, lines, self._library_minimum
        )

    def _payable(self, debit: Debit | None, ident: int) -> Debit:
        """The debit, if the library says it is outstanding and it may be paid online."""
        if debit is None:
            raise Conflict(
                "this debit is not outstanding (already paid?)", field="account_line_ids", id=ident
            )
        reason = non_payable_reason(debit.debit_type, self.settings.non_payable_types)
        if reason:
            raise ValidationFailed(reason, field="account_line_ids", id=ident)
        return debit

    async def _library_minimum(self, conn: asyncpg.Connection, cart_id: uuid.UUID) -> None:
        """Library payments start at `LIBRARY_MINIMUM_PAYABLE_CENTS` per cart."""
        lines = await store.cart_lines(conn, cart_id)
        total = sum(r.gross_cents for r in lines if r.kind == "library_debit")
        least = self.settings.library_minimum_payable_cents
        if total < least:
            raise ValidationFailed(
                f"library payments start at {least / 100:.2f} €", field="account_line_ids"
            )

    async def add_gis_product(self, req: AddGisProductRequest, ctx: RequestContext) -> CartView:
        principal = resident(ctx)
        async with self.pool.acquire() as conn:
            product = await gis.product(conn, req.product_id)
            if not product.active:
                raise Conflict("this product is not sold any more", field="product_id")
            merchant = seller_of(await catalogue.merchants(conn), "gis_product")
            vat_bp = await catalogue.vat_rate_bp(conn, product.vat_code, sale_day(self.clock()))
        gross, details = price_gis_line(product, req)
        net, vat = split_gross(gross, vat_bp)
        line = LineDraft(
            kind="gis_product",
            reference=f"{product.id}:{variant_key(details)}",
            description=f"{product.name_fi} ({req.format}, {req.coordinate_system})",
            merchant_id=merchant.id,
            cost_centre=product.cost_centre,
            quantity=req.quantity,
            gross_cents=gross,
            net_cents=net,
            vat_cents=vat,
            vat_rate_bp=vat_bp,
            # the name in every language: the cart and receipt show the page's own
            details=details
            | {
                "product_name": {
                    "fi": product.name_fi,
                    "sv": product.name_sv,
                    "en": product.name_en,
                }
            },
        )
        return await self._add("cart.add_gis_product", req, principal, [line])

    async def remove_line(self, req: RemoveLineRequest, ctx: RequestContext) -> CartView:
        principal = resident(ctx)
        async with self.pool.acquire() as conn, conn.transaction():
            cart_id = await store.open_cart_id(conn, principal.subject)
            if cart_id is None or not await store.delete_line(conn, cart_id, req.line_id):
                raise NotFound("no such line in your cart", field="line_id")
            return await view(conn, principal.subject, take_messages=False)
