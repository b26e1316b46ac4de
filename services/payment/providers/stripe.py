"""Stripe through stripe-python's async `StripeClient`: a hosted Checkout Session per payment
(card data and Stripe.js never touch our pages), idempotency keys on every call, explicit
timeouts, SDK-verified webhooks, refunds that stay pending until Stripe says they succeeded,
disputes, and balance transactions and payouts read page by page for reconciliation."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import asyncpg
import msgspec
import stripe

from services.payment.providers.base import (
    CancelOutcome,
    Capabilities,
    Delivery,
    InvalidSignature,
    PaymentOrder,
    Payout,
    ProviderConnectionError,
    ProviderRejected,
    ProviderTimeout,
    RefundResult,
    RefundStatus,
    StartResult,
    WebhookAuth,
    WebhookNews,
)
from services.payment.settings import PaymentSettings
from shared.contracts.payment import BalanceTransactionView

T = TypeVar("T")

PAGE = 100  # Stripe's largest page
# Checkout Session events -> what they mean for our payment.
SESSION_KINDS = {
    "checkout.session.async_payment_succeeded": "succeeded",
    "checkout.session.async_payment_failed": "declined",
    "checkout.session.expired": "abandoned",
}
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refunded"})
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)
# Stripe's refund statuses (pending, requires_action, succeeded, failed, canceled) -> ours.
REFUND_STATUS: dict[str, RefundStatus] = {
    "pending": "pending",
    "requires_action": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
}


async def _call(make: Callable[[], Awaitable[T]]) -> T:
    """One SDK call, its errors mapped to the closed set of provider errors."""
    try:
        return await make()
    except stripe.APIConnectionError as exc:
        text = str(exc).lower()
        if "timeout" in text or "timed out" in text:
            raise ProviderTimeout(str(exc.user_message or exc)) from exc
        raise ProviderConnectionError(str(exc.user_message or exc)) from exc
    except stripe.StripeError as exc:
        raise ProviderRejected(
            str(exc.user_message or exc), status=exc.http_status or 0, code=exc.code or ""
        ) from exc


def _id(value: Any) -> str | None:
    """An expandable field's id (a string, or an expanded object)."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"]) if isinstance(value, Mapping) else str(value.id)


def _source_ref(source: Any) -> str:
    """The reference our ledger knows a balance transaction by: the PaymentIntent of a charge,
    else the source's own id (a refund, a dispute, a payout)."""
    if isinstance(source, str) or source is None:
        return source or ""
    source = source.to_dict() if hasattr(source, "to_dict") else source
    if source.get("object") == "charge" and source.get("payment_intent"):
        return str(_id(source["payment_intent"]))
    return str(source["id"])


def line_items(order: PaymentOrder) -> list[dict[str, Any]]:
    """The order's lines as Checkout line items (gross, VAT included); a line whose amount
    does not divide by its quantity is one item of its whole amount."""
    items: list[dict[str, Any]] = []
    for line in order.lines:
        quantity = line.quantity if line.quantity > 0 else 1
        unit, rest = divmod(line.gross_cents, quantity)
        if rest:
            unit, quantity = line.gross_cents, 1
        items.append(
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": unit,
                    "product_data": {"name": line.description[:250] or order.description},
                },
                "quantity": quantity,
            }
        )
    if sum(i["price_data"]["unit_amount"] * i["quantity"] for i in items) != order.amount_cents:
        items = [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": order.amount_cents,
                    "product_data": {"name": order.description},
                },
                "quantity": 1,
            }
        ]
    return items


class StripeProvider:
    name: ClassVar[str] = "stripe"
    # Stripe: a charge of at least EUR 0.50 and at most 999,999.99; a Checkout Session open
    # 30 min to 24 h; partial refunds; refunds confirmed by webhook.
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_refunds=True,
        min_amount_cents=50,
        max_amount_cents=99_999_999,
        window_min=timedelta(minutes=30),
        window_max=timedelta(hours=24),
        methods=("card", "mobilepay", "klarna"),
        refunds_confirmed_later=True,
    )
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth("header", "Stripe-Signature")

    def __init__(
        self, client: stripe.StripeClient, webhook_secret: str, public_url: str | None
    ) -> None:
        self.client = client
        self.webhook_secret = webhook_secret
        self.public_url = (public_url or "").rstrip("/")

    @classmethod
    def from_settings(cls, settings: PaymentSettings, pool: asyncpg.Pool | None) -> StripeProvider:
        if not (settings.stripe_api_key and settings.stripe_webhook_secret):
            raise ValueError(
                "Stripe needs PAYMENT_STRIPE_API_KEY and PAYMENT_STRIPE_WEBHOOK_SECRET"
            )
        options: dict[str, Any] = {
            # The SDK's default is 80 s and 2 retries: far past the gateway's request timeout.
            "http_client": stripe.HTTPXClient(timeout=settings.provider_timeout_s),
            "max_network_retries": settings.provider_retries,
        }
        if settings.stripe_api_base:
            options["base_addresses"] = {"api": settings.stripe_api_base}
        client = stripe.StripeClient(settings.stripe_api_key, **options)
        # Its success and cancel pages: PAYMENT_PUBLIC_URL, else the gateway's PUBLIC_URL.
        return cls(client, settings.stripe_webhook_secret, settings.public_address())

    # --- paying ------------------------------------------------------------------------------

    def session_params(self, order: PaymentOrder) -> dict[str, Any]:
        """The same order gives the same parameters (an idempotent retry must not differ)."""
        ours = {"payment_id": str(order.payment_id), "order_id": str(order.order_id)}
        return {
            "mode": "payment",
            "currency": "eur",
            "line_items": line_items(order),
            "client_reference_id": str(order.payment_id),
            "metadata": {**ours, "order_number": order.order_number},
            "payment_intent_data": {"description": order.description, "metadata": ours},
            "success_url": f"{self.public_url}/orders/{order.order_id}?payment={order.payment_id}",
            "cancel_url": f"{self.public_url}/pay/stripe/{order.payment_id}/cancelled",
            "expires_at": int(order.expires_at.timestamp()),
        }

    async def start(self, order: PaymentOrder, idempotency_key: str) -> StartResult:
        session = await _call(
            lambda: self.client.v1.checkout.sessions.create_async(
                self.session_params(order),  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        if not session.url:
            raise ProviderRejected("Stripe gave the Checkout Session no address", status=502)
        return StartResult(provider_ref=session.id, redirect_url=session.url)

    async def cancel(self, provider_ref: str, idempotency_key: str) -> CancelOutcome:
        """Expire the Checkout Session; when Stripe cannot (it completed), say whether it was
        paid or is still being paid (an async method)."""
        try:
            await _call(
                lambda: self.client.v1.checkout.sessions.expire_async(
                    provider_ref, {}, {"idempotency_key": idempotency_key}
                )
            )
            return "cancelled"
        except ProviderRejected as exc:
            if exc.status != 400:
                raise
        session = await _call(
            lambda: self.client.v1.checkout.sessions.retrieve_async(
                provider_ref, {"expand": ["payment_intent"]}
            )
        )
        if session.status == "expired":
            return "cancelled"
        if session.payment_status in ("paid", "no_payment_required"):
            return "paid"
        intent = session.payment_intent
        if intent is not None and not isinstance(intent, str):
            if intent.status == "succeeded":
                return "paid"
            if intent.status == "processing":
                return "processing"
        return "cancelled" if session.status == "complete" else "processing"

    async def fee_of(self, provider_ref: str) -> int | None:
        """Stripe's fee sits on the charge's balance transaction, not in the webhook."""
        intent_id = provider_ref
        if provider_ref.startswith("cs_"):
            session = await _call(
                lambda: self.client.v1.checkout.sessions.retrieve_async(provider_ref)
            )
            intent_id = _id(session.payment_intent) or ""
            if not intent_id:
                return None
        intent = await _call(
            lambda: self.client.v1.payment_intents.retrieve_async(
                intent_id, {"expand": ["latest_charge.balance_transaction"]}
            )
        )
        charge = intent.latest_charge
        if charge is None or isinstance(charge, str) or not charge.balance_transaction:
            return None
        txn = charge.balance_transaction
        return None if isinstance(txn, str) else int(txn.fee)

    # --- webhooks ----------------------------------------------------------------------------

    def parse_webhook(self, delivery: Delivery) -> WebhookNews:
        signature = delivery.header(self.webhook_auth.name)
        try:
            event = self.client.construct_event(delivery.body, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature(str(exc.user_message or "signature mismatch")) from None
        except ValueError:
            raise InvalidSignature("the signed body is not a Stripe event") from None
        obj = event.data.object.to_dict()
        news = WebhookNews(
            event_id=event.id, event_type=event.type, kind="ignored", provider_ref=None
        )
        meta = obj.get("metadata") or {}
        if event.type.startswith("checkout.session."):
            return _session_news(news, obj)
        if event.type == "payment_intent.payment_failed":
            return _replace(
                news,
                kind="declined",
                provider_payment_ref=obj.get("id"),
                payment_id=_uuid(meta.get("payment_id")),
                reason=((obj.get("last_payment_error") or {}).get("code")),
            )
        if event.type in REFUND_EVENTS:
            if obj.get("object") == "charge":  # which refund: asked of Stripe (refund_status)
                return _replace(
                    news,
                    kind="refund",
                    provider_payment_ref=_id(obj.get("payment_intent")),
                    payment_id=_uuid(meta.get("payment_id")),
                )
            return _replace(
                news,
                kind="refund",
                provider_payment_ref=_id(obj.get("payment_intent")),
                payment_id=_uuid(meta.get("payment_id")),
                refund_ref=obj.get("id"),
                refund_id=_uuid(meta.get("refund_id")),
                refund_status=REFUND_STATUS.get(str(obj.get("status")), "pending"),
                amount_cents=_int(obj.get("amount")),
                currency=obj.get("currency"),
                reason=obj.get("failure_reason") or _canceled(obj),
            )
        if event.type in DISPUTE_EVENTS:
            return _replace(
                news,
                kind="dispute",
                provider_payment_ref=_id(obj.get("payment_intent")),
                dispute_ref=obj.get("id"),
                dispute_status=obj.get("status"),
                dispute_closed=event.type == "charge.dispute.closed",
                amount_cents=_int(obj.get("amount")),
                currency=obj.get("currency"),
                reason=obj.get("reason"),
            )
        return news

    # --- refunds -----------------------------------------------------------------------------

    async def refund(
        self,
        provider_ref: str,
        amount_cents: int,
        idempotency_key: str,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundResult:
        """`provider_ref`: the PaymentIntent (or its Checkout Session)."""
        intent_id = provider_ref
        if provider_ref.startswith("cs_"):
            session = await _call(
                lambda: self.client.v1.checkout.sessions.retrieve_async(provider_ref)
            )
            intent_id = _id(session.payment_intent) or ""
            if not intent_id:
                raise ProviderRejected("the Checkout Session was never paid", code="not_paid")
        params: dict[str, Any] = {"payment_intent": intent_id, "amount": amount_cents}
        if metadata:
            params["metadata"] = dict(metadata)
        refund = await _call(
            lambda: self.client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return _refund_result(refund)

    async def refund_status(self, refund_ref: str) -> RefundResult:
        refund = await _call(lambda: self.client.v1.refunds.retrieve_async(refund_ref))
        return _refund_result(refund)

    # --- reconciliation ----------------------------------------------------------------------

    async def balance_transactions(
        self, start: datetime, end: datetime
    ) -> list[BalanceTransactionView]:
        """The period's transactions (payouts themselves left out), each with its payout."""
        created = {"gte": int(start.timestamp()), "lt": int(end.timestamp())}
        paid_out: dict[str, str] = {}
        for payout in await self.payouts(start, end):
            for txn in await self._transactions({"payout": payout.id}):
                paid_out[txn.id] = payout.id
        return [
            msgspec.structs.replace(txn, payout_id=paid_out.get(txn.id))
            for txn in await self._transactions({"created": created})
        ]

    async def _transactions(self, filters: dict[str, Any]) -> list[BalanceTransactionView]:
        return [
            BalanceTransactionView(
                id=txn.id,
                type=txn.type,
                source=_source_ref(txn.source),
                amount_cents=txn.amount,
                fee_cents=txn.fee,
                net_cents=txn.net,
                created=datetime.fromtimestamp(txn.created, UTC),
            )
            for txn in await self._all(
                self.client.v1.balance_transactions.list_async,
                {**filters, "expand": ["data.source"]},
            )
            if txn.type != "payout"
        ]

    async def payouts(self, start: datetime, end: datetime) -> list[Payout]:
        created = {"gte": int(start.timestamp()), "lt": int(end.timestamp())}
        return [
            Payout(
                id=p.id, amount_cents=p.amount, arrival=datetime.fromtimestamp(p.arrival_date, UTC)
            )
            for p in await self._all(self.client.v1.payouts.list_async, {"created": created})
        ]

    async def _all(
        self, list_async: Callable[..., Awaitable[Any]], params: dict[str, Any]
    ) -> list[Any]:
        """Every page of a list (`limit` 100, `starting_after` the last id while `has_more`)."""
        items: list[Any] = []
        params = {**params, "limit": PAGE}
        while True:
            page = await _call(lambda p=params: list_async(p))  # type: ignore[misc]
            items.extend(page.data)
            if not page.has_more or not page.data:
                return items
            params = {**params, "starting_after": page.data[-1].id}


def _session_news(news: WebhookNews, obj: dict[str, Any]) -> WebhookNews:
    """A Checkout Session event: `completed` is paid only when its payment_status says so
    (an async method such as a bank debit completes unpaid and settles later)."""
    kind = SESSION_KINDS.get(news.event_type, "ignored")
    if news.event_type == "checkout.session.completed":
        kind = "processing" if obj.get("payment_status") == "unpaid" else "succeeded"
    meta = obj.get("metadata") or {}
    return _replace(
        news,
        kind=kind,
        provider_ref=obj.get("id"),
        provider_payment_ref=_id(obj.get("payment_intent")),
        payment_id=_uuid(meta.get("payment_id") or obj.get("client_reference_id")),
        amount_cents=_int(obj.get("amount_total")) if kind == "succeeded" else None,
        currency=obj.get("currency") if kind == "succeeded" else None,
    )


def _replace(news: WebhookNews, **changes: Any) -> WebhookNews:
    return dataclasses.replace(news, **changes)


def _refund_result(refund: Any) -> RefundResult:
    status = REFUND_STATUS.get(str(refund.status), "pending")
    failure = None
    if status == "failed":
        failure = getattr(refund, "failure_reason", None) or str(refund.status)
    return RefundResult(provider_ref=refund.id, status=status, failure=failure)


def _canceled(obj: dict[str, Any]) -> str | None:
    return "canceled" if obj.get("status") == "canceled" else None


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
