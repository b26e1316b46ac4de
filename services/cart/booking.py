"""What the cart asks of booking, over NATS (its internal operations), typed. Never called
with a database transaction open: a slow booking service must not hold the cart's locks."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.contracts.booking import (
    ExtendedHold,
    ExtendHoldsReply,
    ExtendHoldsRequest,
    ReservationForCart,
    ReservationForCartRequest,
    ShortenHoldsRequest,
)
from shared.contracts.common import RequestContext
from shared.messaging import Requester, subject_for


class Booking:
    def __init__(self, requester: Requester) -> None:
        self.requester = requester

    async def reservation_for_cart(
        self, reservation_id: uuid.UUID, ctx: RequestContext
    ) -> ReservationForCart:
        """Price, owner and state of a held reservation (booking checks who may see it)."""
        return await self.requester.call(
            subject_for("booking", "reservation_for_cart"),
            ReservationForCartRequest(reservation_id=reservation_id),
            ReservationForCart,
            ctx=ctx,
        )

    async def extend_holds(
        self,
        reservation_ids: list[uuid.UUID],
        until: datetime,
        order_id: uuid.UUID,
        ctx: RequestContext,
    ) -> ExtendHoldsReply:
        """Keep the holds until the order's payment deadline; `HoldExpired` if one is gone."""
        return await self.requester.call(
            subject_for("booking", "extend_holds"),
            ExtendHoldsRequest(reservation_ids=reservation_ids, until=until, order_id=order_id),
            ExtendHoldsReply,
            ctx=ctx,
        )

    async def shorten_holds(
        self, order_id: uuid.UUID, holds: list[ExtendedHold], ctx: RequestContext
    ) -> ExtendHoldsReply:
        """Give back what `extend_holds` kept for `order_id`: each hold to the expiry given."""
        return await self.requester.call(
            subject_for("booking", "shorten_holds"),
            ShortenHoldsRequest(order_id=order_id, holds=holds),
            ExtendHoldsReply,
            ctx=ctx,
        )
