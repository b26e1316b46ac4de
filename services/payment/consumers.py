"""JetStream consumers of the payment service (its loops: `shared.runtime.every`)."""

from __future__ import annotations

import logging

from services.payment.refunds import Refunds
from services.payment.season_credits import SeasonCredits
from shared.contracts.cart import RefundRequested
from shared.events import Consumer

log = logging.getLogger(__name__)


def consumers(refunds: Refunds) -> list[Consumer]:
    return [
        Consumer(
            durable="payment-refund-requested",
            subjects=[RefundRequested.subject],
            handle=refunds.on_refund_requested,
        ),
        SeasonCredits(refunds).consumer(),
    ]
