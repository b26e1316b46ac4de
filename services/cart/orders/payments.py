"""What payment's events do to an order (inside the consumer's transaction, inbox-protected).

Payment decides which payment is an order's (the first to succeed) and says so in its events;
the order follows that decision whatever order the events arrive in."""

from __future__ import annotations

import logging
import uuid

import asyncpg

from services.cart.domain import model
from services.cart.orders import refund_store, settling, store
from services.cart.orders.fulfilment import Fulfilment
from shared.contracts.payment import (
    PaymentFailed,
    PaymentRefunded,
    PaymentRefundFailed,
    PaymentSucceeded,
)

log = logging.getLogger(__name__)

ENDED = {"abandoned", "expired", "cancelled"}


class PaymentOutcomes:
    def __init__(self, fulfilment: Fulfilment) -> None:
        self.fulfilment = fulfilment

    async def succeeded(self, conn: asyncpg.Connection, event: PaymentSucceeded) -> None:
        order = await store.order(conn, event.order_id, lock=True)
        if order is None:
            log.warning("payment %s for an unknown order", event.payment_id)
            return
        paying = model.orders_payment(event.schema_version, event.payment_id, event.duplicate_of)
        if event.schema_version < model.PAYMENT_DECIDES and order.payment_id is not None:
            paying = order.payment_id  # an old event: the first payment heard of stays
        own = paying == event.payment_id  # provider and time are the order's payment's own
        if order.state == "awaiting_payment":
            await self.fulfilment.mark_paid(conn, order, paying, event.provider, event.paid_at)
        elif order.state == "cancelled":
            await self.fulfilment.paid_after_cancel(
                conn, order, paying, event.provider, event.paid_at, exact=own
            )
        elif order.payment_id != paying or (
            own and (order.paid_at, order.payment_provider) != (event.paid_at, event.provider)
        ):
            await store.follow_payment(
                conn, order.id, paying, event.provider, event.paid_at, exact=own
            )
        if own and event.method and order.payment_method != event.method:
            await store.set_payment_method(conn, order.id, event.method)
        if event.payment_id != paying:
            # Payment refunds a second success of an order in full by itself (its refunded
            # event, reason duplicate_payment, gives back no line): the order keeps its payment.
            log.warning(
                "order %s paid twice: payment %s after %s; payment refunds the duplicate",
                order.id,
                event.payment_id,
                paying,
            )

    async def refunded(self, conn: asyncpg.Connection, event: PaymentRefunded) -> None:
        """Money of the order's payment given back: its lines and the order follow, whichever
        payment's success cart heard of first (or none yet: the refund says the payment paid
        the order). A duplicate's refund (payment refunds it by itself) changes nothing."""
        order = await store.order(conn, event.order_id, lock=True)
        if order is None:
            log.warning("refund %s for an unknown order %s", event.refund_id, event.order_id)
            return
        if not model.refund_is_the_orders(
            event.schema_version,
            order.payment_id,
            event.payment_id,
            event.duplicate_of,
            event.reason,
        ):
            log.info(
                "refund %s of payment %s (%s) is not of order %s's payment %s: order unchanged",
                event.refund_id,
                event.payment_id,
                event.reason,
                order.id,
                event.duplicate_of or order.payment_id,
            )
            return
        if event.schema_version >= model.PAYMENT_DECIDES and order.payment_id != event.payment_id:
            # Heard before the payment's success: it paid the order (the time comes with it).
            if order.state == "awaiting_payment":
                await self.fulfilment.mark_paid(
                    conn, order, event.payment_id, event.provider, event.occurred_at
                )
            else:
                await store.follow_payment(
                    conn, order.id, event.payment_id, event.provider, event.occurred_at, exact=False
                )
        refunded = [(x.line_id, x.amount_cents) for x in event.lines]
        await settling.apply_refund(conn, event.order_id, refunded, event.refund_id)

    async def failed(self, conn: asyncpg.Connection, event: PaymentFailed) -> None:
        if event.reason not in ENDED:
            return  # declined: the resident may try again within the window
        order = await store.order(conn, event.order_id, lock=True)
        if order is not None and order.state == "awaiting_payment":
            await self.fulfilment.cancel(conn, order, f"payment_{event.reason}")

    async def refund_failed(self, conn: asyncpg.Connection, event: PaymentRefundFailed) -> None:
        """The provider refused a refund: nothing was given back. The lines cart asked it for
        go back to the state they had when it was asked (staff may ask again), and each line
        shows the failure (`details.refund_failed`); finance has it as a payment anomaly."""
        order = await store.order(conn, event.order_id, lock=True)
        if order is None:
            log.warning("failed refund %s for an unknown order %s", event.refund_id, event.order_id)
            return
        asked_in: dict[uuid.UUID, str | None] = {}
        if event.refund_request_id is not None:
            asked_in = await refund_store.fail_refund_request(
                conn, event.refund_request_id, event.failure
            )
        for part in event.lines:
            line = await store.order_line(conn, part.line_id, lock=True)
            if line is None or line.order_id != order.id:
                continue
            failed = {
                "refund_id": str(event.refund_id),
                "amount_cents": part.amount_cents,
                "failure": event.failure,
                "at": event.occurred_at.isoformat(),
            }
            await store.merge_line_details(conn, line.id, {"refund_failed": failed})
            state = model.after_refund_failed(line.state, asked_in.get(line.id))  # type: ignore[arg-type]
            if state != line.state:
                await store.set_line_state(conn, line.id, state)
        await settling.settle_order_if_done(conn, order.id)
