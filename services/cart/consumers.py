"""JetStream consumers of the cart: payment outcomes and booking facts (inbox-protected)."""

from __future__ import annotations

import logging
import uuid

import asyncpg

from services.cart import fulfilment, store
from services.cart.deps import Deps
from services.cart.domain import model
from services.cart.views import snapshot
from shared.contracts.booking import (
    ReservationCancelled,
    ReservationConfirmed,
    ReservationConfirmFailed,
    ReservationExpired,
)
from shared.contracts.payment import (
    PaymentFailed,
    PaymentRefunded,
    PaymentRefundFailed,
    PaymentSucceeded,
)
from shared.events import Consumer

log = logging.getLogger(__name__)

ENDED = {"abandoned", "expired", "cancelled"}


def payment_consumer(deps: Deps) -> Consumer:
    async def handle(conn: asyncpg.Connection, event: object) -> None:
        if isinstance(event, PaymentSucceeded):
            await on_succeeded(conn, deps, event)
        elif isinstance(event, PaymentFailed):
            await on_failed(conn, event)
        elif isinstance(event, PaymentRefunded):
            await on_refunded(conn, deps, event)

    return Consumer(
        "cart-payments",
        [PaymentSucceeded.subject, PaymentFailed.subject, PaymentRefunded.subject],
        handle,
    )


async def on_succeeded(conn: asyncpg.Connection, deps: Deps, event: PaymentSucceeded) -> None:
    """Payment decides which payment is the order's (the first to succeed) and says so; the
    order follows that decision whichever of two successes is heard first."""
    order = await store.order(conn, event.order_id, lock=True)
    if order is None:
        log.warning("payment %s for an unknown order", event.payment_id)
        return
    paying = model.orders_payment(event.schema_version, event.payment_id, event.duplicate_of)
    if event.schema_version < model.PAYMENT_DECIDES and order["payment_id"] is not None:
        paying = order["payment_id"]  # an old event: the first payment heard of stays
    own = paying == event.payment_id  # provider and time are the order's payment's own
    if order["state"] == "awaiting_payment":
        await fulfilment.mark_paid(conn, deps, order, paying, event.provider, event.paid_at)
    elif order["state"] == "cancelled":
        await fulfilment.paid_after_cancel(
            conn, order, paying, event.provider, event.paid_at, exact=own
        )
    elif order["payment_id"] != paying or (
        own and (order["paid_at"], order["payment_provider"]) != (event.paid_at, event.provider)
    ):
        await store.follow_payment(
            conn, order["id"], paying, event.provider, event.paid_at, exact=own
        )
    if event.payment_id != paying:
        # Payment refunds a second success of an order in full by itself (its refunded
        # event, reason duplicate_payment, gives back no line): the order keeps its payment.
        log.warning(
            "order %s paid twice: payment %s after %s; payment refunds the duplicate",
            order["id"],
            event.payment_id,
            paying,
        )


async def on_refunded(conn: asyncpg.Connection, deps: Deps, event: PaymentRefunded) -> None:
    """Money of the order's payment given back: its lines and the order follow, whichever
    payment's success cart heard of first (or none yet: the refund says the payment paid the
    order). A duplicate's refund (payment refunds it by itself) leaves the order as it is."""
    order = await store.order(conn, event.order_id, lock=True)
    if order is None:
        log.warning("refund %s for an unknown order %s", event.refund_id, event.order_id)
        return
    if not model.refund_is_the_orders(
        event.schema_version,
        order["payment_id"],
        event.payment_id,
        event.duplicate_of,
        event.reason,
    ):
        log.info(
            "refund %s of payment %s (%s) is not of order %s's payment %s: order unchanged",
            event.refund_id,
            event.payment_id,
            event.reason,
            order["id"],
            event.duplicate_of or order["payment_id"],
        )
        return
    if event.schema_version >= model.PAYMENT_DECIDES and order["payment_id"] != event.payment_id:
        # Heard before the payment's success: it paid the order (the time comes with it).
        if order["state"] == "awaiting_payment":
            await fulfilment.mark_paid(
                conn, deps, order, event.payment_id, event.provider, event.occurred_at
            )
        else:
            await store.follow_payment(
                conn, order["id"], event.payment_id, event.provider, event.occurred_at, exact=False
            )
    await fulfilment.apply_refund(
        conn,
        event.order_id,
        [(x.line_id, x.amount_cents) for x in event.lines],
        event.refund_id,
    )


def refund_failure_consumer() -> Consumer:
    """`evt.payment.refund.failed` (a consumer of its own: an existing durable keeps the
    subjects it was made with)."""

    async def handle(conn: asyncpg.Connection, event: object) -> None:
        if isinstance(event, PaymentRefundFailed):
            await on_refund_failed(conn, event)

    return Consumer("cart-refund-failures", [PaymentRefundFailed.subject], handle)


async def on_refund_failed(conn: asyncpg.Connection, event: PaymentRefundFailed) -> None:
    """The provider refused a refund: nothing was given back. The lines cart asked it for go
    back to the state they had when it was asked (staff may ask again), and each line shows
    the failure (`details.refund_failed`) to staff; finance has it as a payment anomaly."""
    order = await store.order(conn, event.order_id, lock=True)
    if order is None:
        log.warning("failed refund %s for an unknown order %s", event.refund_id, event.order_id)
        return
    asked_in: dict[uuid.UUID, str | None] = {}
    if event.refund_request_id is not None:
        asked_in = await store.fail_refund_request(conn, event.refund_request_id, event.failure)
    for part in event.lines:
        line = await store.order_line(conn, part.line_id, lock=True)
        if line is None or line["order_id"] != order["id"]:
            continue
        failed = {
            "refund_id": str(event.refund_id),
            "amount_cents": part.amount_cents,
            "failure": event.failure,
            "at": event.occurred_at.isoformat(),
        }
        await store.merge_line_details(conn, line["id"], {"refund_failed": failed})
        state = model.after_refund_failed(line["state"], asked_in.get(line["id"]))  # type: ignore[arg-type]
        if state != line["state"]:
            await store.set_line_state(conn, line["id"], state)
    await fulfilment.settle_order_if_done(conn, order["id"])


async def on_failed(conn: asyncpg.Connection, event: PaymentFailed) -> None:
    if event.reason not in ENDED:
        return  # declined: the resident may try again within the window
    order = await store.order(conn, event.order_id, lock=True)
    if order is not None and order["state"] == "awaiting_payment":
        await fulfilment.cancel(conn, order, f"payment_{event.reason}")


def booking_consumer(deps: Deps) -> Consumer:
    async def handle(conn: asyncpg.Connection, event: object) -> None:
        if isinstance(event, ReservationConfirmed):
            await on_confirmed(conn, event.reservation_id)
        elif isinstance(event, ReservationConfirmFailed):
            await on_confirm_failed(conn, event.reservation_id)
        elif isinstance(event, ReservationCancelled):
            await drop_from_carts(conn, event.reservation_id, "cancelled")
            await on_cancelled(conn, event)
        elif isinstance(event, ReservationExpired):
            await drop_from_carts(conn, event.reservation_id, "expired")

    return Consumer(
        "cart-booking",
        [
            ReservationConfirmed.subject,
            ReservationConfirmFailed.subject,
            ReservationCancelled.subject,
            ReservationExpired.subject,
        ],
        handle,
    )


MESSAGES = {
    "expired": "The hold of {what} expired and it was removed from your cart.",
    "cancelled": "{what} was cancelled and removed from your cart.",
}


async def drop_from_carts(conn: asyncpg.Connection, reservation_id: uuid.UUID, why: str) -> None:
    removed = await store.delete_open_lines_of(conn, "reservation", str(reservation_id))
    for row in removed:
        await store.add_message(
            conn,
            row["customer"],
            f"line_removed_{why}",
            MESSAGES[why].format(what=row["description"]),
        )


async def _paid_line(conn: asyncpg.Connection, reservation_id: uuid.UUID) -> asyncpg.Record | None:
    for line in await store.order_lines_by_reference(conn, "reservation", str(reservation_id)):
        order = await store.order(conn, line["order_id"])
        if order is not None and order["paid_at"] is not None and order["state"] != "cancelled":
            return await store.order_line(conn, line["id"], lock=True)
    return None


async def on_confirmed(conn: asyncpg.Connection, reservation_id: uuid.UUID) -> None:
    line = await _paid_line(conn, reservation_id)
    if line is not None:
        await fulfilment.fulfil_line(conn, line)


async def on_confirm_failed(conn: asyncpg.Connection, reservation_id: uuid.UUID) -> None:
    line = await _paid_line(conn, reservation_id)
    if line is None:
        return
    order = await store.order(conn, line["order_id"], lock=True)
    assert order is not None
    await fulfilment.request_refund(
        conn,
        order,
        [(line, snapshot(line).gross_cents - line["refunded_cents"])],
        "unfulfillable",
        note="the reserved slot was taken after the hold expired",
    )


async def on_cancelled(conn: asyncpg.Connection, event: ReservationCancelled) -> None:
    if event.refund_cents <= 0:
        return
    line = await _paid_line(conn, event.reservation_id)
    if line is None:
        return
    order = await store.order(conn, line["order_id"], lock=True)
    assert order is not None
    left = snapshot(line).gross_cents - await store.requested_refund_cents(conn, line["id"])
    await fulfilment.request_refund(
        conn,
        order,
        [(line, min(event.refund_cents, left))],
        "customer_cancellation",
        note=f"cancelled by {event.cancelled_by}",
    )
