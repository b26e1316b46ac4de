"""The invoice as a payment method (`invoice`, issue 19): the city's own books, no outside
provider. An invoice is issued by `payment.v1.start` with `method` `invoice`
(`services/payment/invoicing.py`), which writes the payment `succeeded` with the invoice in
one transaction; this provider is what the rest of payment meets afterwards: a refund of an
invoiced order is a credit note (a negative invoice naming the original, its lines the
refund's VAT splits), issued once per refund; there are no webhooks, fees, payouts or
sessions to close."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

import asyncpg
import msgspec

from services.payment import invoice_store, refund_store
from services.payment.domain.invoices import Split, credit_lines, reference_number
from services.payment.providers.base import (
    CancelOutcome,
    Capabilities,
    Delivery,
    InvalidSignature,
    PaymentOrder,
    Payout,
    ProviderRejected,
    RefundResult,
    StartResult,
    WebhookAuth,
    WebhookNews,
)
from services.payment.settings import PaymentSettings
from shared.contracts.invoicing import InvoiceLine
from shared.contracts.payment import BalanceTransactionView


class InvoiceProvider:
    name: ClassVar[str] = "invoice"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_refunds=True, methods=("invoice",), shared_account=False, can_close=True
    )
    # Nothing is ever delivered: every delivery is refused as unsigned.
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth("header", "X-Invoice-Signature")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    def from_settings(cls, settings: PaymentSettings, pool: asyncpg.Pool) -> InvoiceProvider:
        return cls(pool)

    async def start(self, order: PaymentOrder, idempotency_key: str) -> StartResult:
        raise ProviderRejected("invoices are issued by payment.v1.start with method invoice")

    def parse_webhook(self, delivery: Delivery) -> WebhookNews:
        raise InvalidSignature("invoices have no webhooks")

    async def refund(
        self,
        provider_ref: str,
        amount_cents: int,
        idempotency_key: str,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundResult:
        """A credit note for the refund (`metadata["refund_id"]`), once."""
        refund_id = uuid.UUID((metadata or {}).get("refund_id", ""))
        async with self.pool.acquire() as conn, conn.transaction():
            refund = await refund_store.refund_by_id(conn, refund_id)
            if refund is None:
                raise ProviderRejected(f"no refund {refund_id}", status=404)
            original = await invoice_store.invoice_of_payment(conn, refund["payment_id"], lock=True)
            if original is None:
                raise ProviderRejected(f"no invoice of payment {refund['payment_id']}", status=404)
            done = await invoice_store.credit_note_of_refund(conn, refund_id)
            if done is not None:
                return RefundResult(provider_ref=str(done["id"]))
            lines = credit_lines(
                msgspec.convert(original["lines"], list[InvoiceLine]),
                (
                    Split(str(s["line_id"]), int(s["gross_cents"]), int(s["vat_cents"]))
                    for s in refund["splits"]
                ),
            )
            number = await invoice_store.next_number(conn)
            credit_id = uuid.uuid4()
            today = await conn.fetchval("SELECT (now() AT TIME ZONE 'Europe/Helsinki')::date")
            await invoice_store.insert_invoice(
                conn,
                id=credit_id,
                number=number,
                kind="credit_note",
                credits=original["id"],
                payment_id=original["payment_id"],
                refund_id=refund_id,
                order_id=original["order_id"],
                order_number=original["order_number"],
                organisation_id=original["organisation_id"],
                customer=original["customer"],
                issued_by=refund["actor"],
                reference_number=reference_number(number),
                invoice_date=today,
                due_date=today,
                payment_terms_days=0,
                amount_cents=-amount_cents,
                vat_cents=sum(line.vat_cents for line in lines),
                lines=lines,
            )
            if original["open_cents"] - amount_cents <= 0:
                await invoice_store.mark_credited(conn, original["id"])
        return RefundResult(provider_ref=str(credit_id))

    async def refund_status(self, refund_ref: str) -> RefundResult:
        return RefundResult(provider_ref=refund_ref)

    async def cancel(self, provider_ref: str, idempotency_key: str) -> CancelOutcome:
        return "paid"  # an issued invoice is the order's payment

    async def balance_transactions(
        self, start: datetime, end: datetime
    ) -> list[BalanceTransactionView]:
        return []

    async def payouts(self, start: datetime, end: datetime) -> list[Payout]:
        return []

    async def fee_of(self, provider_ref: str) -> int | None:
        return 0
