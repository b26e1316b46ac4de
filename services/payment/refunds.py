"""Refunds: from cart's `refund.requested` events and from staff, once per request id."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import asyncpg
import msgspec

from services.payment import store
from services.payment.access import require_refunder
from services.payment.domain.ledger import check_refund, refund_entries
from services.payment.providers.base import Provider, ProviderError, ProviderRejected
from shared import idempotency
from shared.contracts.cart import RefundLine, RefundRequested
from shared.contracts.common import RequestContext
from shared.contracts.payment import PaymentRefunded, RefundRequest, RefundView
from shared.errors import Conflict, NotFound, PaymentFailed, Unavailable, ValidationFailed
from shared.events import PermanentFailure, add_event

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6f1d7a51-3f0e-4a55-9d53-7475726b7530")


@dataclass
class Refunds:
    pool: asyncpg.Pool
    providers: dict[str, Provider]

    async def refund_in(
        self,
        conn: asyncpg.Connection,
        *,
        order_id: uuid.UUID,
        refund_request_id: uuid.UUID,
        lines: list[RefundLine],
        reason: str,
        note: str,
        actor: str,
    ) -> RefundView:
        """Refund in the caller's transaction; a repeated request id returns the first refund."""
        existing = await store.refund_by_request(conn, refund_request_id)
        if existing is not None:
            if existing["order_id"] != order_id:
                raise Conflict("this refund request id belongs to another order")
            return store.refund_view(existing)
        payment = await store.paid_payment_of_order(conn, order_id)
        if payment is None:
            raise NotFound("this order has no successful payment to refund", field="order_id")
        paid_lines = store.lines_of(payment)
        refunded = await store.refunded_by_line(conn, payment["id"])
        total = check_refund(paid_lines, refunded, lines)
        provider = self.providers[payment["provider"]]
        try:
            result = await provider.refund(
                payment["provider_ref"], total, idempotency_key=str(refund_request_id)
            )
        except ProviderRejected as exc:
            raise PaymentFailed(f"the provider refused the refund: {exc}") from None
        except ProviderError as exc:
            raise Unavailable(
                f"the payment provider is unavailable ({type(exc).__name__})"
            ) from None
        refund_id = uuid.uuid4()
        row = await store.insert_refund(
            conn,
            id=refund_id,
            payment_id=payment["id"],
            refund_request_id=refund_request_id,
            amount_cents=total,
            lines=lines,
            reason=reason,
            note=note,
            actor=actor,
            provider_ref=result.provider_ref,
        )
        await store.add_ledger(
            conn, payment["id"], refund_id, refund_entries(paid_lines, lines, payment["sale_date"])
        )
        await add_event(
            conn,
            PaymentRefunded(
                payment_id=payment["id"],
                order_id=order_id,
                amount_cents=total,
                provider=payment["provider"],
                refund_id=refund_id,
                refund_request_id=refund_request_id,
                lines=lines,
                reason=reason,
            ),
        )
        return store.refund_view(row)

    async def on_refund_requested(self, conn: asyncpg.Connection, event: RefundRequested) -> None:
        """`evt.cart.refund.requested` -> provider refund -> ledger -> `payment.refunded`."""
        try:
            await self.refund_in(
                conn,
                order_id=event.order_id,
                refund_request_id=event.refund_request_id,
                lines=event.lines,
                reason=event.reason,
                note=event.note,
                actor="system:cart",
            )
        except (ValidationFailed, NotFound, Conflict, PaymentFailed) as exc:
            raise PermanentFailure(f"refund {event.refund_request_id}: {exc.message}") from exc

    async def staff_refund(self, req: RefundRequest, ctx: RequestContext) -> RefundView:
        if not req.reason.strip():
            raise ValidationFailed("a staff refund needs a reason", field="reason")
        async with self.pool.acquire() as conn:
            payment = await store.latest_payment_of_order(conn, req.order_id)
        if payment is None:
            raise NotFound("no payment for this order", field="order_id")
        by_id = {line.line_id: line.merchant_id for line in store.lines_of(payment)}
        principal = require_refunder(ctx, {by_id.get(part.line_id, "") for part in req.lines})
        scope = f"payment.refund|{principal.subject}"
        request_id = (
            uuid.uuid5(NAMESPACE, f"{principal.subject}|{req.idempotency_key}")
            if req.idempotency_key
            else uuid.uuid4()
        )
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, scope, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=RefundView)
            view = await self.refund_in(
                conn,
                order_id=req.order_id,
                refund_request_id=request_id,
                lines=req.lines,
                reason="staff",
                note=req.reason,
                actor=principal.subject,
            )
            await idempotency.remember(conn, scope, req.idempotency_key, req, view)
            return view
