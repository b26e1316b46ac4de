"""`booking.v1.quote`: what a booking would cost (gross, net, VAT), without holding it."""

from __future__ import annotations

from services.booking.domain.pricing import customer_group, quote
from services.booking.domain.slots import check_request
from services.booking.service import Bookings
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.errors import ValidationFailed


class Quotes:
    def __init__(self, bookings: Bookings) -> None:
        self.bookings = bookings

    async def quote(self, req: c.QuoteRequest, ctx: RequestContext) -> c.QuoteReply:
        b = self.bookings
        async with b.pool.acquire() as conn:
            entry = (await b.catalogue.get(conn, [req.resource_id])).get(req.resource_id)
        if entry is None:
            raise ValidationFailed("no such resource", field="resource_id")
        res = entry.resource
        check_request(
            res, req.starts_at, req.ends_at, req.places, entry.weekly, entry.exceptions, b.now()
        )
        group = req.customer_group or customer_group(ctx.principal, res.municipality)
        price = quote(entry.prices, group, req.starts_at, req.ends_at, req.places, res.tz)
        return c.QuoteReply(
            resource_id=res.id,
            customer_group=group,
            gross_cents=price.gross_cents,
            net_cents=price.net_cents,
            vat_cents=price.vat_cents,
            vat_rate_bp=price.vat_rate_bp,
            hold_minutes=b.settings.hold_minutes,
            approved_payment_hours=b.settings.approved_payment_hours,
        )
