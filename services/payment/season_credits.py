"""A credit note when an invoiced season occurrence is cancelled (issue 19).

A season's month is invoiced as an order of its own (`invoicing.season_month_order`), each
confirmed occurrence one line (`line_id` = the reservation's id). When booking announces an
occurrence cancelled (`evt.booking.reservation.cancelled` with the season as `series_id`) and
a month's invoice billed it, that line is refunded through the invoice provider, which
issues the credit note (a negative invoice naming the original; ERP row type
`credit_note`). The refund's request id is derived from the reservation, so a redelivered
event (or a second replica) finds the first refund: one credit note per occurrence. An
occurrence of a month not invoiced yet needs none: the month's invoice will bill only the
confirmed ones, and not one heard cancelled meanwhile: the cancellation is noted
(`season_cancellations`) under the same lock of the season as invoicing takes, so either
the invoice leaves the occurrence out or the occurrence is credited."""

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


class SeasonCredits:
    def __init__(self, refunds: Refunds) -> None:
        self.refunds = refunds

    async def on_cancelled(self, conn: asyncpg.Connection, event: ReservationCancelled) -> None:
        """The refund commits on its own connections; the inbox (`conn`) only dedupes."""
        if event.series_id is None:
            return  # not a season's occurrence (a cart order's line is refunded via cart)
        await store.lock_season(conn, event.series_id)  # as invoicing a month of it
        found = await store.season_invoice_line(conn, event.series_id, event.reservation_id)
        if found is None:  # no invoice billed it (yet): a month's invoice will leave it out
            await store.add_season_cancellation(conn, event.series_id, event.reservation_id)
            return
        order_id, gross_cents = found
        try:
            refund = await self.refunds.refund(
                order_id=order_id,
                refund_request_id=credit_request_id(event.reservation_id),
                lines=[RefundLine(line_id=event.reservation_id, amount_cents=gross_cents)],
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
