"""What a cancellation may promise back: booking's policy gives an amount of the price, but
staff may have refunded part of the paid line already (in cart, or straight through payment).
Cart knows what is left (`cart.v1.refundable`, asked as booking itself); a cancellation and its
quote promise no more than that. Cart caps its refund request the same way, so a cart that does
not answer changes only the promise (the policy's amount, logged), never the money."""

from __future__ import annotations

import logging
import uuid

from shared.contracts.cart import Refundable, RefundableRequest
from shared.contracts.common import RequestContext, system_principal
from shared.errors import ServiceError
from shared.messaging import Requester, subject_for

log = logging.getLogger(__name__)
REFUNDABLE = subject_for("cart", "refundable")


async def left_to_refund(
    requester: Requester | None, reservation_id: uuid.UUID, ctx: RequestContext
) -> int | None:
    """Cents cart has left to give back of the reservation's paid line; None when it is on
    no paid line, or cart could not be asked."""
    if requester is None:
        return None
    asking = RequestContext(
        principal=system_principal("booking"),
        request_id=ctx.request_id,
        traceparent=ctx.traceparent,
    )
    try:
        reply = await requester.call(
            REFUNDABLE, RefundableRequest(reservation_id=reservation_id), Refundable, ctx=asking
        )
    except ServiceError as exc:
        log.warning("cart did not say what is left to refund (%s): the policy's amount", exc.code)
        return None
    return reply.refundable_cents


def promised(policy_cents: int, left: int | None) -> int:
    """The refund a cancellation tells: the policy's, at most what is left."""
    return policy_cents if left is None else max(0, min(policy_cents, left))
