"""Stripe through stripe-python's async `StripeClient`: PaymentIntents (we cancel them when the
order's payment window closes), idempotency keys on every call, SDK-verified webhooks, refunds,
balance transactions and payouts for reconciliation."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
import stripe

from services.payment.providers.base import (
    CancelOutcome,
    InvalidSignature,
    PaymentOrder,
    Payout,
    ProviderConnectionError,
    ProviderRejected,
    ProviderTimeout,
    RefundResult,
    StartResult,
    WebhookNews,
)
from services.payment.settings import PaymentSettings
from shared.contracts.payment import BalanceTransactionView

T = TypeVar("T")

KINDS = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "declined",
    "payment_intent.canceled": "abandoned",
}


async def _call(make: Callable[[], Awaitable[T]]) -> T:
    """One SDK call, its errors mapped to the closed set of provider errors."""
    try:
        return await make()
    except stripe.APIConnectionError as exc:
        if "timeout" in str(exc).lower():
            raise ProviderTimeout(str(exc.user_message or exc)) from exc
        raise ProviderConnectionError(str(exc.user_message or exc)) from exc
    except stripe.StripeError as exc:
        raise ProviderRejected(
            str(exc.user_message or exc), status=exc.http_status or 0, code=exc.code or ""
        ) from exc


def _source_ref(source: Any) -> str:
    """The reference our ledger knows a balance transaction by: the PaymentIntent of a
    charge, the refund id of a refund, else the source id."""
    if isinstance(source, str) or source is None:
        return source or ""
    source = source.to_dict() if hasattr(source, "to_dict") else source
    if source.get("object") == "charge" and source.get("payment_intent"):
        return str(source["payment_intent"])
    return str(source["id"])


class StripeProvider:
    name = "stripe"

    def __init__(
        self, client: stripe.StripeClient, webhook_secret: str, public_url: str | None
    ) -> None:
        self.client = client
        self.webhook_secret = webhook_secret
        self.public_url = (public_url or "").rstrip("/")

    @classmethod
    def from_settings(cls, settings: PaymentSettings) -> StripeProvider:
        if not (settings.stripe_api_key and settings.stripe_webhook_secret):
            raise ValueError(
                "Stripe needs PAYMENT_STRIPE_API_KEY and PAYMENT_STRIPE_WEBHOOK_SECRET"
            )
        options: dict[str, Any] = {"http_client": stripe.HTTPXClient(), "max_network_retries": 2}
        if settings.stripe_api_base:
            options["base_addresses"] = {"api": settings.stripe_api_base}
        client = stripe.StripeClient(settings.stripe_api_key, **options)
        return cls(client, settings.stripe_webhook_secret, settings.public_url)

    async def start(self, order: PaymentOrder, idempotency_key: str) -> StartResult:
        intent = await _call(
            lambda: self.client.v1.payment_intents.create_async(
                {
                    "amount": order.amount_cents,
                    "currency": "eur",
                    "description": order.description,
                    "automatic_payment_methods": {"enabled": True},
                    "metadata": {
                        "payment_id": str(order.payment_id),
                        "order_id": str(order.order_id),
                        "order_number": order.order_number,
                    },
                },
                {"idempotency_key": idempotency_key},
            )
        )
        return StartResult(
            provider_ref=intent.id,
            redirect_url=f"{self.public_url}/pay/stripe/{order.payment_id}",
            client_secret=intent.client_secret,
        )

    def parse_webhook(self, body: bytes, signature: str) -> WebhookNews:
        try:
            event = self.client.construct_event(body, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature(str(exc.user_message or "signature mismatch")) from None
        except ValueError:
            raise InvalidSignature("the signed body is not a Stripe event") from None
        obj = event.data.object.to_dict()
        intent = obj.get("object") == "payment_intent"
        kind = KINDS.get(event.type, "ignored")
        amount = obj.get("amount_received" if kind == "succeeded" else "amount")
        return WebhookNews(
            event_id=event.id,
            event_type=event.type,
            kind=kind,  # type: ignore[arg-type]
            provider_ref=obj.get("id") if intent else None,
            payment_id=_uuid((obj.get("metadata") or {}).get("payment_id")),
            amount_cents=int(amount) if intent and amount is not None else None,
            currency=obj.get("currency") if intent else None,
        )

    async def refund(
        self, provider_ref: str, amount_cents: int, idempotency_key: str
    ) -> RefundResult:
        refund = await _call(
            lambda: self.client.v1.refunds.create_async(
                {"payment_intent": provider_ref, "amount": amount_cents},
                {"idempotency_key": idempotency_key},
            )
        )
        return RefundResult(provider_ref=refund.id)

    async def fee_of(self, provider_ref: str) -> int | None:
        """Stripe's fee sits on the charge's balance transaction, not in the webhook."""
        intent = await _call(
            lambda: self.client.v1.payment_intents.retrieve_async(
                provider_ref, {"expand": ["latest_charge.balance_transaction"]}
            )
        )
        charge = intent.latest_charge
        if charge is None or isinstance(charge, str) or not charge.balance_transaction:
            return None
        txn = charge.balance_transaction
        return None if isinstance(txn, str) else int(txn.fee)

    async def cancel(self, provider_ref: str, idempotency_key: str) -> CancelOutcome:
        """Cancel the PaymentIntent; when Stripe cannot, its status says why. Stripe replays a
        refused cancel for its key, so an intent that became cancellable since (a processing
        payment that failed) is cancelled once more under a fresh key."""
        for key in (idempotency_key, f"{idempotency_key}-{uuid.uuid4().hex[:12]}"):
            try:
                await _call(
                    lambda k=key: self.client.v1.payment_intents.cancel_async(  # type: ignore[misc]
                        provider_ref, {}, {"idempotency_key": k}
                    )
                )
                return "cancelled"
            except ProviderRejected as exc:
                if exc.code != "payment_intent_unexpected_state":
                    raise
            intent = await _call(
                lambda: self.client.v1.payment_intents.retrieve_async(provider_ref)
            )
            if intent.status == "succeeded":
                return "paid"
            if intent.status in ("canceled", "processing"):
                return "cancelled" if intent.status == "canceled" else "processing"
        return "processing"

    async def balance_transactions(
        self, start: datetime, end: datetime
    ) -> list[BalanceTransactionView]:
        """The period's transactions (payouts themselves left out), each with its payout."""
        created = {"gte": int(start.timestamp()), "lt": int(end.timestamp())}
        paid_out: dict[str, str] = {}
        for payout in await self.payouts(start, end):
            for txn in await self._list({"payout": payout.id}):
                paid_out[txn.id] = payout.id
        return [
            msgspec.structs.replace(txn, payout_id=paid_out.get(txn.id))
            for txn in await self._list({"created": created})
        ]

    async def _list(self, filters: dict[str, Any]) -> list[BalanceTransactionView]:
        items: list[BalanceTransactionView] = []
        params: dict[str, Any] = {**filters, "limit": 100, "expand": ["data.source"]}
        while True:
            page = await _call(
                lambda p=params: self.client.v1.balance_transactions.list_async(p)  # type: ignore[misc]
            )
            for txn in page.data:
                if txn.type == "payout":
                    continue
                items.append(
                    BalanceTransactionView(
                        id=txn.id,
                        type=txn.type,
                        source=_source_ref(txn.source),
                        amount_cents=txn.amount,
                        fee_cents=txn.fee,
                        net_cents=txn.net,
                        created=datetime.fromtimestamp(txn.created, UTC),
                    )
                )
            if not page.has_more:
                return items
            params = {**params, "starting_after": page.data[-1].id}

    async def payouts(self, start: datetime, end: datetime) -> list[Payout]:
        page = await _call(
            lambda: self.client.v1.payouts.list_async(
                {
                    "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
                    "limit": 100,
                }
            )
        )
        return [
            Payout(
                id=p.id, amount_cents=p.amount, arrival=datetime.fromtimestamp(p.arrival_date, UTC)
            )
            for p in page.data
        ]


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
