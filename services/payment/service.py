"""Payment use cases: start, look up, provider webhooks, the local checkout's choice, expiry.

Provider calls never run inside a transaction: a transaction decides (under the order's lock)
and returns what must follow (`Applied`), which runs after the commit.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import parse_qsl

import asyncpg
import msgspec

from services.payment import refund_store, report_store, store
from services.payment.access import may_see, signed_in
from services.payment.closing import Closing
from services.payment.disputes import on_dispute_news
from services.payment.domain import model
from services.payment.domain.orders import (
    check_payable,
    check_provider_limits,
    provider_expiry,
)
from services.payment.invoicing import Invoicing, season_month_order, written_in
from services.payment.invoicing import today as invoicing_today
from services.payment.providers.base import (
    Delivery,
    InvalidSignature,
    PaymentOrder,
    Provider,
    ProviderError,
    ProviderRejected,
    WebhookAuth,
    WebhookNews,
)
from services.payment.providers.local import LocalProvider
from services.payment.refunds import Refunds
from services.payment.transitions import apply
from shared import idempotency
from shared.contracts.cart import (
    AccountingDimensions,
    AccountingForRequest,
    OrderForPayment,
    OrderForPaymentRequest,
    OrderLineSnapshot,
)
from shared.contracts.common import Principal, RequestContext, system_principal
from shared.contracts.invoicing import InvoiceView
from shared.contracts.payment import (
    CancelPaymentRequest,
    GetPaymentRequest,
    LocalDecideRequest,
    PaymentView,
    StartPaymentRequest,
    WebhookAck,
    WebhookRequest,
)
from shared.contracts.season import (
    ApprovedSeasons,
    ApprovedSeasonsRequest,
    InvoiceSeasonMonthRequest,
    SeasonMonth,
    SeasonMonthRequest,
)
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Unavailable,
    ValidationFailed,
)
from shared.errors import (
    PaymentFailed as PaymentFailedError,
)
from shared.messaging import Requester, subject_for

log = logging.getLogger(__name__)

# The invoicing job looks back this far for seasons with an ended month not invoiced.
SEASON_MONTHS_BACK_DAYS = 400


def ended_months(first_day: date, last_day: date, this_month: date) -> list[str]:
    """The months (YYYY-MM) of a season from its first day's to its last day's that ended
    before `this_month` (its first day)."""
    months = []
    month = first_day.replace(day=1)
    while month < this_month and month <= last_day:
        months.append(f"{month:%Y-%m}")
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


FREE = "free"  # a zero-total order's payment: no provider, paid at once
OTHER_NEWS = frozenset({"refund", "dispute", "processing"})  # not a move of the payment
CAUSES: dict[str, model.Cause] = {
    "succeeded": "provider_paid",
    "declined": "provider_declined",
    "abandoned": "resident_abandoned",
}


# Request headers that are the caller's credentials: never passed on to the provider's code.
NOT_PASSED_ON = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})


def delivery_of(req: WebhookRequest, auth: WebhookAuth) -> Delivery:
    """The gateway's request as the provider reads it; a signature given on its own
    (`req.signature`) travels in the provider's signature header."""
    headers = {k.lower(): v for k, v in req.headers.items() if k.lower() not in NOT_PASSED_ON}
    if req.signature and auth.location == "header":
        headers.setdefault(auth.name.lower(), req.signature)
    return Delivery(
        body=req.body.encode(),
        headers=headers,
        query=tuple(parse_qsl(req.query, keep_blank_values=True)),
        method=req.method,
        topic=req.topic,
    )


class AmountMismatch(Conflict):
    """The provider reports another amount or currency than the payment's: nothing moves."""


@dataclass
class Payments:
    pool: asyncpg.Pool
    provider: Provider
    providers: dict[str, Provider]
    requester: Requester
    refunds: Refunds
    local_enabled: bool = True
    # The provider's session closes at least `close_margin` before the order's deadline (when
    # its holds end); the sweeper, running every `sweep_interval`, cancels one interval ahead.
    close_margin: timedelta = timedelta(seconds=60)
    sweep_interval: timedelta = timedelta(seconds=15)
    invoice_terms_days: int = 14

    def __post_init__(self) -> None:
        self.closing = Closing(self.pool, self.providers, self.refunds)
        self.invoicing = Invoicing(
            self.pool, self.closing, self.invoice_terms_days, close_margin=self.close_margin
        )

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

    async def invoice_season_month(
        self, req: InvoiceSeasonMonthRequest, ctx: RequestContext
    ) -> InvoiceView:
        """Staff: a month of an approved season invoiced to its organisation. Booking checks
        that the caller is staff of the resource's department (asked with their principal);
        cart gives each line's accounting dimensions, as checkout would."""
        principal = signed_in(ctx)
        if not (principal.has("staff", "admin") or principal.is_system):
            raise Forbidden("staff of the resource's department only", field="season_id")
        season = await self.requester.call(
            subject_for("booking", "season_month"),
            SeasonMonthRequest(season_id=req.season_id, month=req.month),
            SeasonMonth,
            ctx=ctx,
        )
        system = RequestContext(
            principal=system_principal("payment"),
            request_id=ctx.request_id,
            traceparent=ctx.traceparent,
        )
        day = invoicing_today()
        language = await self.invoicing.language_of(season.organisation_id)
        dims: dict[tuple[str, str], AccountingDimensions] = {}
        lines = []
        for line in season.lines:
            key = (line.merchant_id, line.cost_centre)
            if key not in dims:
                dims[key] = await self.requester.call(
                    subject_for("cart", "accounting_for"),
                    AccountingForRequest(merchant_id=key[0], cost_centre=key[1], on=day),
                    AccountingDimensions,
                    ctx=system,
                )
            lines.append(
                OrderLineSnapshot(
                    line_id=line.reservation_id,
                    kind="reservation",
                    reference=str(line.reservation_id),
                    description=written_in(line, language),
                    merchant_id=line.merchant_id,
                    cost_centre=line.cost_centre,
                    gross_cents=line.gross_cents,
                    net_cents=line.net_cents,
                    vat_cents=line.vat_cents,
                    vat_rate_bp=line.vat_rate_bp,
                    accounting=dims[key],
                )
            )
        kept = frozenset(x.reservation_id for x in season.lines if x.cancelled)
        return await self.invoicing.invoice_season_month(req, season, lines, principal, kept)

    async def invoice_ended_months(self, today: date | None = None) -> int:
        """The background job: every ended month of each approved season not invoiced yet is
        invoiced (as by staff, `invoice_season_month`, issued by `system:payment`). Replicas
        may run it at once: the month's own order takes one live payment, the other replica
        is told `conflict` and goes on. A month without confirmed occurrences is skipped."""
        day = today or invoicing_today()
        this_month = day.replace(day=1)
        ctx = RequestContext(principal=system_principal("payment"))
        issued, offset = 0, 0
        while True:
            page = await self.requester.call(
                subject_for("booking", "approved_seasons"),
                ApprovedSeasonsRequest(
                    begun_before=this_month,
                    ended_since=this_month - timedelta(days=SEASON_MONTHS_BACK_DAYS),
                    offset=offset,
                ),
                ApprovedSeasons,
                ctx=ctx,
            )
            for season in page.seasons:
                for month in ended_months(season.first_day, season.last_day, this_month):
                    order_id = season_month_order(season.season_id, month)
                    async with self.pool.acquire() as conn:
                        if await store.live_payment_of_order(conn, order_id) is not None:
                            continue  # invoiced already
                    req = InvoiceSeasonMonthRequest(season_id=season.season_id, month=month)
                    try:
                        await self.invoice_season_month(req, ctx)
                        issued += 1
                    except (Conflict, ValidationFailed):
                        continue  # another replica was first / nothing to invoice that month
                    except ServiceError as exc:
                        log.warning(
                            "season %s %s not invoiced: %s", season.season_id, month, exc.code
                        )
            if len(page.seasons) < 500:
                return issued
            offset += 500

    async def start(self, req: StartPaymentRequest, ctx: RequestContext) -> PaymentView:
        principal = signed_in(ctx)
        order = await self.order_for_payment(req.order_id, ctx)
        if req.method == "invoice":  # by a contact person of the organisation, or staff
            return await self.invoicing.invoice_order(req, order, principal)
        if req.organisation_id is not None:
            raise ValidationFailed("an organisation is named only to invoice", field="method")
        if order.customer != principal.subject:  # as for an unknown order: existence is theirs
            raise NotFound("no such order", field="order_id")
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(
                conn, "payment.start", principal, req.idempotency_key, req
            )
        if cached is not None:
            return msgspec.json.decode(cached, type=PaymentView)
        check_payable(order, closes_before=self.close_margin)
        free = order.total_cents == 0
        if not free:
            check_provider_limits(order.total_cents, self.provider.name, self.provider.capabilities)
            await self._close_earlier(order.order_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_order(conn, order.order_id)
            name = FREE if free else self.provider.name
            row = await store.insert_payment(conn, uuid.uuid4(), order, name)
            if row is not None and free:  # nothing to take: paid now (ledger of zeros)
                row = (await apply(conn, row, "provider_paid", 0)).row
            if row is None:
                row = await store.live_payment_of_order(conn, order.order_id)
        if row is None:
            raise Conflict("the order's payment changed meanwhile; try again")
        if row["state"] == "succeeded" and row["provider"] != FREE:
            raise Conflict("this order is already paid", field="order_id", reason="paid")
        if row["state"] == "created":
            row = await self._open(row, order, principal)
        reply = store.view(row)
        async with self.pool.acquire() as conn, conn.transaction():
            key = req.idempotency_key
            if await idempotency.lookup(conn, "payment.start", principal, key, req) is None:
                await idempotency.remember(conn, "payment.start", principal, key, req, reply)
        return reply

    async def _close_earlier(self, order_id: uuid.UUID) -> None:
        """Before a new attempt: close the order's ended payments at the provider (a declined
        Stripe PaymentIntent can still be paid). One paid meanwhile pays the order."""
        async with self.pool.acquire() as conn:
            earlier = await store.unclosed_ended_payments(conn, order_id)
        for row in earlier:
            outcome = await self.closing.cancel(row)
            if outcome == "paid":
                await self.closing.paid(row)
                raise Conflict("this order is already paid", field="order_id", reason="paid")
            if outcome == "processing":  # may still succeed: a second success is refunded
                log.warning("payment %s is still processing at the provider", row["id"])

    async def _open(
        self, row: asyncpg.Record, order: OrderForPayment, payer: Principal
    ) -> asyncpg.Record:
        """Open the payment at the provider (outside any transaction), then move to pending."""
        request = PaymentOrder(
            payment_id=row["id"],
            order_id=order.order_id,
            order_number=order.order_number,
            amount_cents=order.total_cents,
            description=f"Turku {order.order_number}",
            expires_at=provider_expiry(
                order.payment_deadline - self.close_margin,
                row["created_at"],
                self.provider.capabilities,
            ),
            lines=tuple(order.lines),
            reference_number=order.reference_number,
            customer_email=payer.email or "",
            language=payer.locale,
        )
        try:
            result = await self.provider.start(request, idempotency_key=f"start-{row['id']}")
        except ProviderRejected as exc:
            async with self.pool.acquire() as conn, conn.transaction():
                locked = await store.payment(conn, row["id"], lock=True)
                assert locked is not None  # payments are never deleted
                if locked["state"] == "created":
                    await apply(conn, locked, "provider_error")
            raise PaymentFailedError(f"the payment provider refused: {exc}") from None
        except ProviderError as exc:
            raise Unavailable(
                f"the payment provider is unavailable ({type(exc).__name__})"
            ) from None
        async with self.pool.acquire() as conn, conn.transaction():
            locked = await store.payment(conn, row["id"], lock=True)
            assert locked is not None  # payments are never deleted
            await store.opened(
                conn, row["id"], result.provider_ref, result.redirect_url, result.client_secret
            )
            if locked["state"] == "created":
                await apply(conn, locked, "provider_session_opened")
            row = await store.payment(conn, row["id"])
        if row["state"] in ("cancelled", "expired"):  # superseded or swept while opening
            await self.closing.cancel(row)
        return row

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
            refunded = await refund_store.refunded_by_line(conn, row["id"])
        return store.view(row, sum(refunded.values()))

    async def webhook(self, req: WebhookRequest, ctx: RequestContext) -> WebhookAck:
        """A provider's delivery, verified by the provider where it signs it (registry data:
        `webhook_auth`). A bad signature names it (`details.signature_name`), for the gateway's
        400; everything else a provider sends is acknowledged."""
        provider = self.providers.get(req.provider)
        if provider is None:
            raise ValidationFailed(f"provider {req.provider} is not configured", field="provider")
        auth = provider.webhook_auth
        try:
            news = provider.parse_webhook(delivery_of(req, auth))
        except InvalidSignature as exc:
            log.warning("webhook of %s refused: %s", req.provider, exc)
            raise ValidationFailed(
                f"the webhook signature is not valid: {exc}",
                field="signature",
                reason="invalid_signature",
                signature_name=auth.name,
                signature_in=auth.location,
            ) from None
        if news.kind == "succeeded" and news.fee_cents is None and news.provider_ref:
            fee = await self.closing.fee(provider, news.provider_ref)
            news = dataclasses.replace(news, fee_cents=fee)
        return await self.apply_news(provider.name, news)

    async def apply_news(self, provider: str, news: WebhookNews) -> WebhookAck:
        """Apply a verified provider event once, whatever order events arrive in."""
        refused: ServiceError | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.record_webhook(
                conn, provider, news.event_id, news.event_type, news.provider_ref
            ):
                seen = await store.webhook_seen(conn, provider, news.event_id)
                assert seen is not None  # recorded before: that is why it was not new
                if seen["outcome"] == "amount_mismatch":
                    raise AmountMismatch(
                        "this provider event's amount did not match its payment",
                        field="body",
                        reason="amount_mismatch",
                    )
                return WebhookAck(event_id=news.event_id, duplicate=True, outcome=seen["outcome"])
            if news.kind == "ignored":
                await store.webhook_outcome(conn, provider, news.event_id, "ignored")
                return WebhookAck(event_id=news.event_id, duplicate=False)
            if news.kind == "report":
                outcome = await self._report(conn, provider, news)
                await store.webhook_outcome(conn, provider, news.event_id, outcome)
                return WebhookAck(event_id=news.event_id, duplicate=False, outcome=outcome)
            row = await self._payment_of(conn, provider, news)
            if row is None:
                outcome = await self._unknown(conn, provider, news)
                await store.webhook_outcome(conn, provider, news.event_id, outcome)
                return WebhookAck(event_id=news.event_id, duplicate=False, outcome=outcome)
            if news.provider_payment_ref:
                await store.learn_payment_ref(conn, row["id"], news.provider_payment_ref)
            applied = None
            poll: list[asyncpg.Record] = []
            if news.kind in OTHER_NEWS:
                outcome, poll = await self._other_news(conn, row, news)
            else:
                refused = await self._check_amount(conn, provider, news, row)
                if refused is None:
                    applied = await apply(conn, row, CAUSES[news.kind], news.fee_cents)
                    outcome = applied.outcome
                else:
                    outcome = "amount_mismatch"
            await store.webhook_outcome(conn, provider, news.event_id, outcome)
        if refused is not None:  # recorded for staff and committed; the provider is told no
            raise refused
        if applied is not None:
            await self.closing.follow_up(applied)
        await self.refunds.poll(poll)  # refunds the news did not name: asked after the commit
        return WebhookAck(
            event_id=news.event_id, duplicate=False, payment_id=row["id"], outcome=outcome
        )

    async def _unknown(self, conn: asyncpg.Connection, provider: str, news: WebhookNews) -> str:
        """A verified event of no payment of ours: every payment row is committed before its
        provider is called, so it never will be. On an account shared with other applications
        it is theirs (ignored); on the city's own account (Paytrail) it is an anomaly for
        finance. Acknowledged either way, so that the provider does not retry it for days."""
        caps = self.providers[provider].capabilities
        log.info("provider event %s (%s) names no payment of ours", news.event_id, news.event_type)
        if caps.shared_account:
            return "not_ours"
        details = {
            "event_type": news.event_type,
            "stamp": news.stamp,
            "provider_ref": news.provider_ref or news.refund_ref,
            "reported_cents": news.amount_cents,
        }
        await store.record_anomaly(conn, None, provider, news.event_id, "unknown_payment", details)
        return "unknown_payment"

    async def _report(self, conn: asyncpg.Connection, provider: str, news: WebhookNews) -> str:
        """A report the provider was asked for (settlement): stored for reconciliation."""
        assert news.report_id is not None
        if await report_store.delivered(conn, provider, news.report_id, news.report):
            return "report_received"
        log.warning("report %s of %s was not asked for (or came already)", news.report_id, provider)
        return "not_ours"

    async def _check_amount(
        self, conn: asyncpg.Connection, provider: str, news: WebhookNews, row: asyncpg.Record
    ) -> ServiceError | None:
        if news.kind != "succeeded" or model.reported_amount_matches(
            row["amount_cents"], row["currency"], news.amount_cents, news.currency
        ):
            return None
        details = {
            "expected_cents": row["amount_cents"],
            "expected_currency": row["currency"],
            "reported_cents": news.amount_cents,
            "reported_currency": news.currency,
        }
        log.error("payment %s: provider event %s %s", row["id"], news.event_id, details)
        await store.record_anomaly(
            conn, row["id"], provider, news.event_id, "amount_mismatch", details
        )
        return AmountMismatch(
            f"the provider reports {news.amount_cents} {news.currency} for a payment of "
            f"{row['amount_cents']} {row['currency']}; recorded for staff, nothing changed",
            field="body",
            reason="amount_mismatch",
            **details,
        )

    async def _other_news(
        self, conn: asyncpg.Connection, row: asyncpg.Record, news: WebhookNews
    ) -> tuple[str, list[asyncpg.Record]]:
        """News of a refund or a dispute, or a checkout completed whose money comes later."""
        if news.kind == "refund":
            return await self.refunds.on_provider_news(conn, row, news)
        if news.kind == "dispute":
            return await on_dispute_news(conn, row, news), []
        return "processing", []

    async def _payment_of(
        self, conn: asyncpg.Connection, provider: str, news: WebhookNews
    ) -> asyncpg.Record | None:
        """The event's payment, locked after its order (the order's lock comes first)."""
        row = None
        if news.provider_ref:
            row = await store.payment_by_ref(conn, provider, news.provider_ref)
        if row is None and news.provider_payment_ref:
            row = await store.payment_by_payment_ref(conn, provider, news.provider_payment_ref)
        if row is None and news.payment_id is not None:
            row = await store.payment(conn, news.payment_id)
        if row is None and news.refund_id is not None:  # a refund's news naming only itself
            refund = await refund_store.refund_by_id(conn, news.refund_id)
            row = await store.payment(conn, refund["payment_id"]) if refund else None
        if row is None or row["provider"] != provider:
            return None
        await store.lock_order(conn, row["order_id"])
        return await store.payment(conn, row["id"], lock=True)

    async def cancel(self, req: CancelPaymentRequest, ctx: RequestContext) -> PaymentView:
        """The payer left the provider's page without paying: close the session there (no
        lock held meanwhile), then the payment is cancelled (abandoned) and cart cancels the
        order. Paid meanwhile: it stays paid. Declined: the session is closed and the payment
        cancelled too (the payer ends the order at once rather than when its window ends)."""
        principal = signed_in(ctx)
        async with self.pool.acquire() as conn:
            row = await store.payment(conn, req.payment_id)
        if row is None or (row["customer"] != principal.subject and not principal.is_admin):
            raise NotFound("no such payment", field="payment_id")
        if row["provider_ref"] and not row["provider_closed"] and row["state"] != "succeeded":
            outcome = await self.closing.cancel(row)
            if outcome == "paid":
                await self.closing.paid(row)
            elif outcome == "processing":
                raise Conflict("the payment is being processed and cannot be cancelled")
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_order(conn, row["order_id"])
            locked = await store.payment(conn, row["id"], lock=True)
            assert locked is not None  # payments are never deleted
            if locked["state"] in model.OPEN_STATES:
                await apply(conn, locked, "resident_abandoned")
            elif locked["state"] == "failed" and locked["failure_reason"] == "declined":
                # The payer ends the order now rather than when its window closes.
                await apply(conn, locked, "payer_cancelled")
        return await self.get(GetPaymentRequest(payment_id=req.payment_id), ctx)

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
            # Records the charge, then delivers its webhook: one not acknowledged (the gateway
            # answering 503 meanwhile) is redelivered in the background, never a refusal.
            await local.decide(req.payment_id, req.decision)
        except ProviderRejected as exc:  # e.g. declining a charge already paid
            raise Conflict(str(exc), field="decision") from None
        except ProviderError as exc:
            raise Unavailable(f"the local provider failed ({type(exc).__name__})") from None
        return await self.get(GetPaymentRequest(payment_id=req.payment_id), ctx)

    async def sweep_expired(self) -> int:
        return await self.closing.sweep(self.sweep_interval + self.close_margin)
