"""JetStream consumers and background loops of the payment service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from services.payment.refunds import Refunds
from shared.contracts.cart import RefundRequested
from shared.events import Consumer

log = logging.getLogger(__name__)


def consumers(refunds: Refunds) -> list[Consumer]:
    return [
        Consumer(
            durable="payment-refund-requested",
            subjects=[RefundRequested.subject],
            handle=refunds.on_refund_requested,
        )
    ]


def every(
    seconds: float, work: Callable[[], Awaitable[object]]
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A background loop running `work` every `seconds` until stopped."""

    async def loop(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await work()
            except Exception:
                log.exception("payment background work failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    return loop
