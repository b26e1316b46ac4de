"""Checkout: the open cart becomes an order awaiting payment, its lines frozen (prices, VAT,
sellers, accounting dimensions), its reservations' holds kept until the payment deadline.

Booking is asked to keep the holds with no database transaction open (a slow booking service
must not hold the cart's locks), between a read of the cart and the transaction writing the
order. When the order cannot be written after booking kept the holds (or booking did not
answer, and may still keep them), the holds are given back: each to the expiry it had when
it was put in the cart (`booking.v1.shorten_holds`). A crash between the two leaves the holds
kept until the payment deadline, when they expire by themselves.

One cart, one order, one order id (derived from the cart's): racing checkouts of a cart ask
booking for the same thing, and the one that finds the cart checked out answers with the
order the other placed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from services.cart.access import resident
from services.cart.booking import Booking
from services.cart.carts import store as carts
from services.cart.catalogue import store as catalogue
from services.cart.domain.days import sale_day, utc_now
from services.cart.domain.model import CartLine, Order
from services.cart.domain.references import order_number, reference_for_order, rf_reference
from services.cart.library.accounts import LibraryAccounts
from services.cart.orders import store
from services.cart.settings import CartSettings
from services.cart.views import order_view
from shared import idempotency
from shared.contracts.booking import ExtendedHold
from shared.contracts.cart import CheckoutRequest, OrderCreated, OrderLineSnapshot, OrderView
from shared.contracts.common import Principal, RequestContext
from shared.errors import Conflict, ServiceError, Unavailable, ValidationFailed
from shared.events import add_event

log = logging.getLogger(__name__)

ORDER_OF_CART = uuid.UUID("5b0f6a52-3c1e-4d8a-9f0e-6c2b7d4e1a93")  # order id = uuid5(this, cart)
OPERATION = "cart.checkout"


def _organisation(details: dict[str, Any]) -> uuid.UUID | None:
    """The organisation a reservation line was booked for (booking's `organisation_id`)."""
    found = details.get("organisation_id")
    return uuid.UUID(found) if found else None


async def snapshot_lines(
    conn: asyncpg.Connection, rows: list[CartLine], sale_date: date
) -> list[tuple[OrderLineSnapshot, dict[str, Any]]]:
    """Each line as the order keeps it, with the accounting dimensions valid on the day."""
    result = []
    for r in rows:
        product = r.details.get("product_id", "") if r.kind == "gis_product" else ""
        dims = await catalogue.dimensions_for(
            conn, r.merchant_id, r.cost_centre, product, sale_date
        )
        snap = OrderLineSnapshot(
            line_id=r.id,
            kind=r.kind,
            reference=r.reference,
            description=r.description,
            merchant_id=r.merchant_id,
            cost_centre=r.cost_centre,
            quantity=r.quantity,
            gross_cents=r.gross_cents,
            net_cents=r.net_cents,
            vat_cents=r.vat_cents,
            vat_rate_bp=r.vat_rate_bp,
            accounting=dims,
            organisation_id=_organisation(r.details),
        )
        result.append((snap, r.details))
    return result


@dataclass(frozen=True)
class Draft:
    """A cart about to become an order, read with nothing locked."""

    cart_id: uuid.UUID
    rows: list[CartLine]
    lines: list[tuple[OrderLineSnapshot, dict[str, Any]]]
    sellers: dict[str, Any]  # the merchants on the order as the registry has them now
    at: datetime
    deadline: datetime

    @property
    def sale_date(self) -> date:
        """The day of the sale in Helsinki (not the UTC day of `at`)."""
        return sale_day(self.at)

    @property
    def order_id(self) -> uuid.UUID:
        return uuid.uuid5(ORDER_OF_CART, str(self.cart_id))

    @property
    def holds(self) -> list[ExtendedHold]:
        """The reservations' holds, each with the expiry it had when put in the cart (what
        it goes back to if the order is not written)."""
        return [
            ExtendedHold(
                reservation_id=uuid.UUID(r.reference),
                expires_at=datetime.fromisoformat(r.details["expires_at"])
                if r.details.get("expires_at")
                else self.at,
            )
            for r in self.rows
            if r.kind == "reservation"
        ]


class Checkout:
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

    async def checkout(self, req: CheckoutRequest, ctx: RequestContext) -> OrderView:
        principal = resident(ctx)
        await self.library.reprice_cart(principal.subject)
        draft = await self._draft(principal, req)
        if isinstance(draft, OrderView):
            return draft  # the first reply to this key, or the order just placed
        await self._keep_holds(draft, ctx)
        try:
            return await self._place(principal, req, draft)
        except Exception as exc:
            log.info(
                "order %s not written (%s): the holds go back", draft.order_id, type(exc).__name__
            )
            await self._give_holds_back(draft, ctx)
            raise

    async def _draft(self, principal: Principal, req: CheckoutRequest) -> Draft | OrderView:
        """The cart as it will be ordered (read, nothing written), or the answer already
        given: the reply to this idempotency key, or an order placed a moment ago."""
        key = req.idempotency_key
        async with self.pool.acquire() as conn:
            cached = await idempotency.lookup(conn, OPERATION, principal, key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=OrderView)
            cart_id = await carts.open_cart_id(conn, principal.subject)
            rows = await carts.cart_lines(conn, cart_id) if cart_id else []
            if cart_id is None or not rows:
                return await _just_placed(conn, principal.subject)
            at = self.clock()
            lines = await snapshot_lines(conn, rows, sale_day(at))
            registry = await catalogue.merchants(conn)
        sellers = {
            s.merchant_id: msgspec.to_builtins(registry[s.merchant_id])
            for s, _ in lines
            if s.merchant_id in registry
        }
        deadline = at + timedelta(minutes=self.settings.payment_window_minutes)
        return Draft(cart_id, rows, lines, sellers, at, deadline)

    async def _keep_holds(self, draft: Draft, ctx: RequestContext) -> None:
        """Booking keeps the holds until the payment deadline (no transaction open here);
        a hold gone is `hold_expired` and nothing is ordered."""
        holds = draft.holds
        if not holds:
            return
        ids = [h.reservation_id for h in holds]
        try:
            await self.booking.extend_holds(ids, draft.deadline, draft.order_id, ctx)
        except Unavailable as exc:  # booking may still keep them when it gets to it
            await self._give_holds_back(draft, ctx)
            raise Unavailable(
                "the booking service did not answer; nothing was ordered and your cart is as "
                "it was: please try again in a moment"
            ) from exc

    async def _place(self, principal: Principal, req: CheckoutRequest, draft: Draft) -> OrderView:
        """Write the order in one transaction, the cart locked: unless a racing checkout of
        the same cart placed it, or the cart changed since it was read (`cart_changed`)."""
        key = req.idempotency_key
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, OPERATION, principal, key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=OrderView)
            if not await carts.lock_if_open(conn, draft.cart_id):
                placed = await store.order_of_cart(conn, draft.cart_id)
                if placed is None:
                    raise ValidationFailed("the cart is empty", field="cart")
                return order_view(placed, await store.order_lines(conn, placed.id))
            if await carts.cart_lines(conn, draft.cart_id) != draft.rows:
                raise Conflict(
                    "your cart changed during checkout; please check it and try again",
                    reason="cart_changed",
                )
            order = await self._write(conn, principal.subject, draft)
            reply = order_view(order, await store.order_lines(conn, order.id))
            await idempotency.remember(conn, OPERATION, principal, key, req, reply)
            return reply

    async def _write(self, conn: asyncpg.Connection, customer: str, draft: Draft) -> Order:
        sequence = await store.next_order_sequence(conn)
        year = draft.sale_date.year  # the year in Helsinki: 31 Dec 22:30 UTC is next year's
        reference = reference_for_order(year, sequence)
        total = sum(s.gross_cents for s, _ in draft.lines)
        await store.insert_order(
            conn,
            order_id=draft.order_id,
            cart_id=draft.cart_id,
            order_number=order_number(year, sequence),
            reference_number=reference,
            rf_reference=rf_reference(reference),
            customer=customer,
            total_cents=total,
            sale_date=draft.sale_date,
            payment_deadline=draft.deadline,
            lines=draft.lines,
            merchants=draft.sellers,
        )
        await carts.check_out(conn, draft.cart_id)
        order = await store.order(conn, draft.order_id)
        assert order is not None
        await add_event(
            conn,
            OrderCreated(
                order_id=order.id,
                order_number=order.order_number,
                customer=customer,
                total_cents=total,
                payment_deadline=draft.deadline,
                lines=[s for s, _ in draft.lines],
            ),
        )
        return order

    async def _give_holds_back(self, draft: Draft, ctx: RequestContext) -> None:
        """The compensation: each hold back to the expiry it had, unless the order was
        placed after all (by a racing checkout of the same cart). Best effort: what cannot
        be given back now ends at the payment deadline."""
        holds = draft.holds
        if not holds or await self._placed(draft.order_id):
            return
        try:
            await self.booking.shorten_holds(draft.order_id, holds, ctx)
        except ServiceError as exc:
            log.warning(
                "order %s: the holds could not be given back (%s); they end at %s",
                draft.order_id,
                exc.code,
                draft.deadline.isoformat(),
            )

    async def _placed(self, order_id: uuid.UUID) -> bool:
        try:
            async with self.pool.acquire() as conn:
                return await store.order(conn, order_id) is not None
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            return False  # the database is away: the order was most likely not written either


async def _just_placed(conn: asyncpg.Connection, customer: str) -> OrderView:
    """An empty cart: the order a checkout of it placed a moment ago (a double submit), or
    `validation_failed`."""
    existing = await store.latest_unpaid_order(conn, customer)
    if existing is None or datetime.now(UTC) - existing.created_at >= timedelta(minutes=5):
        raise ValidationFailed("the cart is empty", field="cart")
    return order_view(existing, await store.order_lines(conn, existing.id))
