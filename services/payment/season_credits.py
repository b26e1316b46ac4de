"""A credit note when an invoiced season occurrence is cancelled (issue 19).

A season's month is invoiced as an order of its own (`invoicing.season_month_order`), each
confirmed occurrence one line (`line_id` = the reservation's id). When booking announces an
occurrence cancelled (`evt.booking.reservation.cancelled` with the season as `series_id`) and
a month's invoice billed it, that line is refunded through the invoice provider, which
issues the credit note (a negative invoice naming the original; ERP row type `credit_note`)
for what the cancellation gives back: all of it when staff cancel; by the resource's
cancellation policy when the organisation does (booking's `refund_cents`: late, only the
policy's percentage; nothing credited when nothing is given back). The refund's request id
is derived from the reservation, so a redelivered event (or a second replica) finds the
first refund: one credit note per occurrence. An occurrence of a month not invoiced yet needs
none: the month's invoice bills the confirmed ones and what late cancellations keep (booking
lists them), and of one heard cancelled since booking listed it only what its cancellation
keeps: the cancellation is noted (`season_cancellations`, with the part kept) under the same
lock of the season as invoicing takes, so either the invoice bills only that part or the
occurrence is credited."""

from __future__ import annotations

import logging
import uuid

import asyncpg

from services.payment import store
from services.payment.refunds import NAMESPACE, Refunds
from shared.contracts.booking import ReservationCancelled
from shared.contracts.cart import RefundLine
from shared.errors import Conflict, NotFound, PaymentFailed, ValidationFailed
from shared.events import Consumer, PermanentFailure

log = logging.getLogger(__name__)

REASON = "season_occurrence_cancelled"


def credit_request_id(reservation_id: uuid.UUID) -> uuid.UUID:
    """The one refund (credit note) an occurrence may have."""
    return uuid.uuid5(NAMESPACE, f"season-occurrence|{reservation_id}")


def credited(event: ReservationCancelled, gross_cents: int) -> int:
    """What a cancelled occurrence gets back of its price: staff (or the system) cancel it in
    full; its organisation by the resource's cancellation policy, as booking reckoned it
    (`refund_cents`: all of it before the free cancellation period ends, then the policy's
    percentage, nothing once it has begun)."""
    if event.cancelled_by != "customer":
        return gross_cents
    return min(max(event.refund_cents, 0), gross_cents)


class SeasonCredits:
    def __init__(self, refunds: Refunds) -> None:
        self.refunds = refunds

    async def on_cancelled(self, conn: asyncpg.Connection, event: ReservationCancelled) -> None:
        """The refund commits on its own connections; the inbox (`conn`) only dedupes."""
        if event.series_id is None:
            return  # not a season's occurrence (a cart order's line is refunded via cart)
        await store.lock_season(conn, event.series_id)  # as invoicing a month of it
        found = await store.season_invoice_line(conn, event.series_id, event.reservation_id)
        if found is None:  # no invoice billed it (yet): a month's invoice bills only the kept
            kept = event.gross_cents - credited(event, event.gross_cents)
            await store.add_season_cancellation(
                conn, event.series_id, event.reservation_id, max(kept, 0)
            )
            return
        order_id, gross_cents = found
        amount = credited(event, gross_cents)
        if amount <= 0:  # cancelled too late for any of it back: the invoice stands
            log.info("season occurrence %s cancelled late: nothing credited", event.reservation_id)
            return
        try:
            refund = await self.refunds.refund(
                order_id=order_id,
                refund_request_id=credit_request_id(event.reservation_id),
                lines=[RefundLine(line_id=event.reservation_id, amount_cents=amount)],
                reason=REASON,
                note=f"season occurrence {event.reservation_id} cancelled",
                actor="system:booking",
            )
        except (ValidationFailed, NotFound, Conflict, PaymentFailed) as exc:
            raise PermanentFailure(
                f"credit for occurrence {event.reservation_id}: {exc.message}"
            ) from exc
        log.info(
            "season occurrence %s credited by refund %s", event.reservation_id, refund.refund_id
        )

    def consumer(self) -> Consumer:
        return Consumer(
            durable="payment-season-cancellations",
            subjects=[ReservationCancelled.subject],
            handle=self.on_cancelled,
        )
