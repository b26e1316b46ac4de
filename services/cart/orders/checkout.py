"""Checkout: the open cart becomes an order awaiting payment, its lines frozen (prices, VAT,
sellers, accounting dimensions), its reservations' holds kept until the payment deadline."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from services.cart.access import resident
from services.cart.booking import Booking
from services.cart.carts import store as carts
from services.cart.catalogue import store as catalogue
from services.cart.domain.model import CartLine
from services.cart.domain.references import order_number, reference_for_order, rf_reference
from services.cart.library.accounts import LibraryAccounts
from services.cart.orders import store
from services.cart.settings import CartSettings
from services.cart.views import order_view
from shared import idempotency
from shared.contracts.cart import CheckoutRequest, OrderCreated, OrderLineSnapshot, OrderView
from shared.contracts.common import RequestContext
from shared.errors import ValidationFailed
from shared.events import add_event


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
        )
        result.append((snap, r.details))
    return result


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

    async def checkout(self, req: CheckoutRequest, ctx: RequestContext) -> OrderView:
        principal = resident(ctx)
        customer = principal.subject
        await self.library.reprice_cart(customer)
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(
                conn, "cart.checkout", principal, req.idempotency_key, req
            )
            if cached is not None:
                return msgspec.json.decode(cached, type=OrderView)
            cart_id = await carts.lock_open_cart(conn, customer)
            rows = await carts.cart_lines(conn, cart_id) if cart_id else []
            if not rows:
                # A racing checkout of the same cart got here first: its order is the answer.
                existing = await store.latest_unpaid_order(conn, customer)
                if existing is not None and (
                    datetime.now(UTC) - existing.created_at < timedelta(minutes=5)
                ):
                    return order_view(existing, await store.order_lines(conn, existing.id))
                raise ValidationFailed("the cart is empty", field="cart")
            assert cart_id is not None
            now = datetime.now(UTC)
            sale_date = now.date()
            lines = await snapshot_lines(conn, rows, sale_date)
            sequence = await store.next_order_sequence(conn)
            reference = reference_for_order(now.year, sequence)
            order_id = uuid.uuid4()
            deadline = now + timedelta(minutes=self.settings.payment_window_minutes)
            total = sum(s.gross_cents for s, _ in lines)
            registry = await catalogue.merchants(conn)
            sellers = {
                s.merchant_id: msgspec.to_builtins(registry[s.merchant_id])
                for s, _ in lines
                if s.merchant_id in registry
            }
            await store.insert_order(
                conn,
                order_id=order_id,
                cart_id=cart_id,
                order_number=order_number(now.year, sequence),
                reference_number=reference,
                rf_reference=rf_reference(reference),
                customer=customer,
                total_cents=total,
                sale_date=sale_date,
                payment_deadline=deadline,
                lines=lines,
                merchants=sellers,
            )
            await carts.check_out(conn, cart_id)
            reservations = [uuid.UUID(s.reference) for s, _ in lines if s.kind == "reservation"]
            if reservations:
                # Inside the transaction: if booking refuses (hold gone), no order is created.
                await self.booking.extend_holds(reservations, deadline, order_id, ctx)
            order = await store.order(conn, order_id)
            assert order is not None
            await add_event(
                conn,
                OrderCreated(
                    order_id=order_id,
                    order_number=order.order_number,
                    customer=customer,
                    total_cents=total,
                    payment_deadline=deadline,
                    lines=[s for s, _ in lines],
                ),
            )
            reply = order_view(order, await store.order_lines(conn, order_id))
            await idempotency.remember(
                conn, "cart.checkout", principal, req.idempotency_key, req, reply
            )
            return reply
