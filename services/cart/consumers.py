"""JetStream consumers of the cart (inbox-protected; `shared.events` acks, naks and terms):
payment's outcomes and booking's facts, each handed to its use case."""

from __future__ import annotations

import logging

import asyncpg

from services.cart.wiring import CartServices
from shared.contracts.booking import (
    ReservationCancelled,
    ReservationConfirmed,
    ReservationConfirmFailed,
    ReservationExpired,
)
from shared.contracts.payment import (
    PaymentEvent,
    PaymentFailed,
    PaymentRefunded,
    PaymentRefundFailed,
    PaymentSucceeded,
)
from shared.events import Consumer

log = logging.getLogger(__name__)


def of_no_order(event: object) -> bool:
    """A payment event of a season's monthly invoice (issue 19): payment invoices it as an
    order of its own that cart never had; nothing of cart's follows from it."""
    if isinstance(event, PaymentEvent) and event.season_id is not None:
        log.debug("payment %s invoices season %s: no cart order", event.payment_id, event.season_id)
        return True
    return False


def payment_consumer(s: CartServices) -> Consumer:
    async def handle(conn: asyncpg.Connection, event: object) -> None:
        if of_no_order(event):
            return
        if isinstance(event, PaymentSucceeded):
            await s.payments.succeeded(conn, event)
        elif isinstance(event, PaymentFailed):
            await s.payments.failed(conn, event)
        elif isinstance(event, PaymentRefunded):
            await s.payments.refunded(conn, event)

    return Consumer(
        "cart-payments",
        [PaymentSucceeded.subject, PaymentFailed.subject, PaymentRefunded.subject],
        handle,
    )


def booking_consumer(s: CartServices) -> Consumer:
    async def handle(conn: asyncpg.Connection, event: object) -> None:
        if isinstance(event, ReservationConfirmed):
            await s.reservations.confirmed(conn, event.reservation_id)
        elif isinstance(event, ReservationConfirmFailed):
            await s.reservations.confirm_failed(conn, event.reservation_id)
        elif isinstance(event, ReservationCancelled):
            await s.reservations.cancelled(conn, event)
        elif isinstance(event, ReservationExpired):
            await s.reservations.expired(conn, event.reservation_id)

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


def refund_failure_consumer(s: CartServices) -> Consumer:
    """`evt.payment.refund.failed` (a consumer of its own: an existing durable keeps the
    subjects it was made with)."""

    async def handle(conn: asyncpg.Connection, event: object) -> None:
        if isinstance(event, PaymentRefundFailed) and not of_no_order(event):
            await s.payments.refund_failed(conn, event)

    return Consumer("cart-refund-failures", [PaymentRefundFailed.subject], handle)


def consumers(s: CartServices) -> list[Consumer]:
    return [payment_consumer(s), booking_consumer(s), refund_failure_consumer(s)]
