"""The service desk's provider (issue 19): money taken at a service point, in cash or on the
register's card terminal, by a clerk. Nothing is opened anywhere: the clerk's
`payment.v1.desk_pay` records the payment as paid at once (with the clerk and the register).
A refund is money handed back at the desk (succeeded when recorded). It has no webhooks, no
balance transactions and no payouts: the registers' own cash-up is the reconciliation."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

import asyncpg

from services.payment.providers.base import (
    CancelOutcome,
    Capabilities,
    Delivery,
    InvalidSignature,
    PaymentOrder,
    Payout,
    RefundResult,
    StartResult,
    WebhookAuth,
    WebhookNews,
)
from services.payment.settings import PaymentSettings
from shared.contracts.payment import BalanceTransactionView

NAME = "desk"


class DeskProvider:
    name: ClassVar[str] = NAME
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_refunds=True,
        min_amount_cents=1,
        methods=("cash", "card"),
        shared_account=False,
        can_close=True,
    )
    # The desk sends no deliveries: anything posted to its webhook path is refused.
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth("header", "X-Desk-Signature")

    @classmethod
    def from_settings(cls, settings: PaymentSettings, pool: asyncpg.Pool) -> DeskProvider:
        return cls()

    async def start(self, order: PaymentOrder, idempotency_key: str) -> StartResult:
        """The clerk has the money in hand: the reference is the payment's own."""
        return StartResult(provider_ref=f"desk_{order.payment_id.hex}")

    def parse_webhook(self, delivery: Delivery) -> WebhookNews:
        raise InvalidSignature("the service desk sends no webhooks")

    async def refund(
        self,
        provider_ref: str,
        amount_cents: int,
        idempotency_key: str,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundResult:
        """Handed back at the desk: the refund's reference derives from its key (a repeat is
        the same refund)."""
        return RefundResult(
            provider_ref=f"desk_refund_{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex}"
        )

    async def refund_status(self, refund_ref: str) -> RefundResult:
        return RefundResult(provider_ref=refund_ref)

    async def cancel(self, provider_ref: str, idempotency_key: str) -> CancelOutcome:
        return "cancelled"

    async def balance_transactions(
        self, start: datetime, end: datetime
    ) -> list[BalanceTransactionView]:
        return []

    async def payouts(self, start: datetime, end: datetime) -> list[Payout]:
        return []

    async def fee_of(self, provider_ref: str) -> int | None:
        return 0
