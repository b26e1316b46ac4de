"""Payment use cases: start, look up, provider webhooks, the local checkout's choice, expiry."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass

import asyncpg
import msgspec

from services.payment import store
from services.payment.access import may_see, signed_in
from services.payment.domain import model
from services.payment.domain.ledger import sale_entries
from services.payment.domain.orders import check_payable
from services.payment.providers.base import (
    InvalidSignature,
    PaymentOrder,
    Provider,
    ProviderError,
    ProviderRejected,
    WebhookNews,
)
from services.payment.providers.local import LocalProvider
from shared import idempotency
from shared.contracts.cart import OrderForPayment, OrderForPaymentRequest
from shared.contracts.common import RequestContext, system_principal
from shared.contracts.payment import (
    GetPaymentRequest,
    LocalDecideRequest,
    PaymentFailed,
    PaymentSucceeded,
    PaymentView,
    StartPaymentRequest,
    WebhookAck,
    WebhookRequest,
)
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unavailable,
    ValidationFailed,
)
from shared.errors import (
    PaymentFailed as PaymentFailedError,
)
from shared.events import add_event
from shared.messaging import Requester, subject_for

log = logging.getLogger(__name__)

CAUSES: dict[str, model.Cause] = {
    "succeeded": "provider_paid",
    "declined": "provider_declined",
    "abandoned": "resident_abandoned",
}


@dataclass
class Payments:
    pool: asyncpg.Pool
    provider: Provider
    providers: dict[str, Provider]
    requester: Requester
    local_enabled: bool = True

    async def order_for_payment(self, order_id: uuid.UUID, ctx: RequestContext) -> OrderForPayment:
        system = RequestContext(
            principal=system_principal("payment"),
            request_id=ctx.request_id,
            traceparent=ctx.traceparent,
        )
        return await self.requester.call(
            subject_for("cart", "order_for_payment"),
            OrderForPaymentRequest(order_id=order_id),
            OrderForPayment,
            ctx=system,
        )

    async def start(self, req: StartPaymentRequest, ctx: RequestContext) -> PaymentView:
        principal = signed_in(ctx)
        scope = f"payment.start|{principal.subject}"
        async with self.pool.acquire() as conn:
            cached = await idempotency.lookup(conn, scope, req.idempotency_key, req)
        if cached is not None:
            return msgspec.json.decode(cached, type=PaymentView)
        order = await self.order_for_payment(req.order_id, ctx)
        if order.customer != principal.subject:
            raise Forbidden("this order is not yours")
        check_payable(order)
        async with self.pool.acquire() as conn:
            row = await store.insert_payment(conn, uuid.uuid4(), order, self.provider.name)
            if row is None:
                row = await store.live_payment_of_order(conn, order.order_id)
        if row is None:
            raise Conflict("the order's payment changed meanwhile; try again")
        if row["state"] == "succeeded":
            raise Conflict("this order is already paid", field="order_id")
        if row["state"] == "created":
            row = await self._open(row, order)
        reply = store.view(row)
        async with self.pool.acquire() as conn, conn.transaction():
            if await idempotency.lookup(conn, scope, req.idempotency_key, req) is None:
                await idempotency.remember(conn, scope, req.idempotency_key, req, reply)
        return reply

    async def _open(self, row: asyncpg.Record, order: OrderForPayment) -> asyncpg.Record:
        """Open the payment at the provider (outside any transaction), then move to pending."""
        request = PaymentOrder(
            payment_id=row["id"],
            order_id=order.order_id,
            order_number=order.order_number,
            amount_cents=order.total_cents,
            description=f"Turku {order.order_number}",
            expires_at=order.payment_deadline,
        )
        try:
            result = await self.provider.start(request, idempotency_key=f"start-{row['id']}")
        except ProviderRejected as exc:
            async with self.pool.acquire() as conn, conn.transaction():
                locked = await store.payment(conn, row["id"], lock=True)
                if locked["state"] == "created":
                    await store.move(
                        conn, locked, "failed", "provider_error", failure_reason="error"
                    )
            raise PaymentFailedError(f"the payment provider refused: {exc}") from None
        except ProviderError as exc:
            raise Unavailable(
                f"the payment provider is unavailable ({type(exc).__name__})"
            ) from None
        async with self.pool.acquire() as conn, conn.transaction():
            locked = await store.payment(conn, row["id"], lock=True)
            await store.opened(
                conn, row["id"], result.provider_ref, result.redirect_url, result.client_secret
            )
            if locked["state"] == "created":
                await store.move(conn, locked, "pending", "provider_session_opened")
            return await store.payment(conn, row["id"])

    async def get(self, req: GetPaymentRequest, ctx: RequestContext) -> PaymentView:
        principal = signed_in(ctx)
        async with self.pool.acquire() as conn:
            if req.payment_id is not None:
                row = await store.payment(conn, req.payment_id)
            elif req.order_id is not None:
                row = await store.latest_payment_of_order(conn, req.order_id)
            else:
                raise ValidationFailed("give payment_id or order_id", field="payment_id")
            if row is None:
                raise NotFound("no such payment")
            merchants = {line.merchant_id for line in store.lines_of(row)}
            if not may_see(principal, row["customer"], merchants):
                raise NotFound("no such payment")
            refunded = await store.refunded_by_line(conn, row["id"])
        return store.view(row, sum(refunded.values()))

    async def webhook(self, req: WebhookRequest, ctx: RequestContext) -> WebhookAck:
        provider = self.providers.get(req.provider)
        if provider is None:
            raise ValidationFailed(f"provider {req.provider} is not configured", field="provider")
        try:
            news = provider.parse_webhook(req.body.encode(), req.signature)
        except InvalidSignature as exc:
            log.warning("webhook of %s refused: %s", req.provider, exc)
            raise ValidationFailed(
                f"the webhook signature is not valid: {exc}", field="signature"
            ) from None
        if news.kind == "succeeded" and not news.fee_cents and news.provider_ref:
            try:
                fee = await provider.fee_of(news.provider_ref)
            except ProviderError as exc:  # reconciliation still sees the fee later
                log.warning("fee of %s not known yet: %s", news.provider_ref, type(exc).__name__)
                fee = None
            if fee:
                news = dataclasses.replace(news, fee_cents=fee)
        return await self.apply_news(provider.name, news)

    async def apply_news(self, provider: str, news: WebhookNews) -> WebhookAck:
        """Apply a verified provider event once, whatever order events arrive in."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.record_webhook(
                conn, provider, news.event_id, news.event_type, news.provider_ref
            ):
                seen = await store.webhook_seen(conn, provider, news.event_id)
                return WebhookAck(event_id=news.event_id, duplicate=True, outcome=seen["outcome"])
            if news.kind == "ignored":
                await store.webhook_outcome(conn, provider, news.event_id, "ignored")
                return WebhookAck(event_id=news.event_id, duplicate=False)
            row = await self._payment_of(conn, provider, news)
            if row is None:  # not ours (yet): refuse, so that the provider delivers it again
                raise NotFound("no payment for this provider event", field="body")
            outcome = await self._apply(conn, row, CAUSES[news.kind], news.fee_cents)
            await store.webhook_outcome(conn, provider, news.event_id, outcome)
            return WebhookAck(
                event_id=news.event_id, duplicate=False, payment_id=row["id"], outcome=outcome
            )

    async def _payment_of(
        self, conn: asyncpg.Connection, provider: str, news: WebhookNews
    ) -> asyncpg.Record | None:
        row = None
        if news.provider_ref:
            row = await store.payment_by_ref(conn, provider, news.provider_ref)
        if row is None and news.payment_id is not None:
            row = await store.payment(conn, news.payment_id, lock=True)
            if row is not None and row["provider"] != provider:
                return None
        return row

    async def _apply(
        self, conn: asyncpg.Connection, row: asyncpg.Record, cause: model.Cause, fee: int = 0
    ) -> str:
        if row["state"] == "created":  # the provider's news overtook our own bookkeeping
            row = await store.move(conn, row, "pending", "provider_session_opened")
        target = model.next_state(row["state"], cause)
        if target is None:
            return "ignored"
        reason = None if target == "succeeded" else model.failure_reason(target, cause)
        row = await store.move(conn, row, target, cause, failure_reason=reason, fee_cents=fee)
        common = {
            "payment_id": row["id"],
            "order_id": row["order_id"],
            "amount_cents": row["amount_cents"],
            "provider": row["provider"],
        }
        if target == "succeeded":
            await store.add_ledger(
                conn, row["id"], None, sale_entries(store.lines_of(row), row["sale_date"])
            )
            await add_event(conn, PaymentSucceeded(paid_at=row["paid_at"], **common))
            return "succeeded"
        await add_event(conn, PaymentFailed(reason=reason, **common))
        return "failed"

    async def local_decide(self, req: LocalDecideRequest, ctx: RequestContext) -> PaymentView:
        principal = signed_in(ctx)
        local = self.providers.get("local")
        if not self.local_enabled or not isinstance(local, LocalProvider):
            raise NotFound("the local test provider is not enabled")
        async with self.pool.acquire() as conn:
            row = await store.payment(conn, req.payment_id)
        if row is None or row["provider"] != "local":
            raise NotFound("no such local payment")
        if row["customer"] != principal.subject and not principal.is_admin:
            raise NotFound("no such local payment")
        try:
            await local.decide(req.payment_id, req.decision)
        except ProviderRejected as exc:
            raise Conflict(str(exc), field="decision") from None
        except ProviderError as exc:  # the webhook could not be delivered: deciding again resends
            raise Unavailable(f"the webhook was not delivered ({type(exc).__name__})") from None
        return await self.get(GetPaymentRequest(payment_id=req.payment_id), ctx)

    async def sweep_expired(self) -> int:
        """Payments past their order's deadline: cancel at the provider, then `expired`."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await store.overdue_payments(conn)
            for row in rows:
                if row["provider_ref"]:
                    try:
                        await self.providers[row["provider"]].cancel(
                            row["provider_ref"], idempotency_key=f"cancel-{row['id']}"
                        )
                    except ProviderError as exc:
                        log.warning("could not cancel payment %s: %s", row["id"], exc)
                        continue
                await self._apply(conn, row, "window_closed")
        return len(rows)
