"""Contracts of the payment service: `payment.v1.*` requests and `evt.payment.*` events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from shared.contracts.accounting import MerchantId
from shared.contracts.cart import RefundLine
from shared.contracts.common import Event, register
from shared.contracts.invoicing import InvoiceView

SERVICE = "payment"

PaymentState = Literal["created", "pending", "succeeded", "failed", "cancelled", "expired"]
FailureReason = Literal["declined", "abandoned", "expired", "cancelled", "error"]


class PaymentEvent(Event, frozen=True, kw_only=True):
    payment_id: uuid.UUID
    order_id: uuid.UUID
    amount_cents: int
    provider: str
    # A season's monthly invoice (issue 19): its order is no cart order (cart ignores it).
    season_id: uuid.UUID | None = None


class PaymentSucceeded(PaymentEvent, frozen=True, kw_only=True):
    """Payment decides which payment is the order's: the first to succeed. `duplicate_of`
    None: this payment is the order's; else it is a second success of the order, the order's
    payment being `duplicate_of` (payment refunds the duplicate in full by itself).

    schema_version 2 added `duplicate_of`; a version 1 event says nothing about it. schema
    version 3 added `method`: how a payment at the service desk was paid (`card`, `cash`);
    None for the others, whose provider names the method."""

    subject: ClassVar[str] = "evt.payment.payment.succeeded"
    schema_version: int = 3
    paid_at: datetime
    duplicate_of: uuid.UUID | None = None
    method: str | None = None

    @property
    def orders_payment_id(self) -> uuid.UUID:
        """The payment that pays the order, as payment decided it."""
        return self.duplicate_of or self.payment_id


class PaymentFailed(PaymentEvent, frozen=True, kw_only=True):
    """`reason` declined: the resident may try again; abandoned/expired/cancelled: the order's
    payment is over and cart cancels the order (releasing its holds)."""

    subject: ClassVar[str] = "evt.payment.payment.failed"
    reason: FailureReason


class PaymentRefunded(PaymentEvent, frozen=True, kw_only=True):
    """`amount_cents` is this refund's amount; `lines` how it splits over order lines.

    The refund belongs to payment `payment_id`; `duplicate_of` None: that payment is the
    order's (its refunds give back order lines); else it is a duplicate of the order's payment
    `duplicate_of` and its refund gives back no order line (`lines` empty).

    schema_version 2 added `duplicate_of`; a version 1 event says nothing about it."""

    subject: ClassVar[str] = "evt.payment.payment.refunded"
    schema_version: int = 2
    refund_id: uuid.UUID
    refund_request_id: uuid.UUID | None = None
    lines: list[RefundLine]
    reason: str
    duplicate_of: uuid.UUID | None = None

    @property
    def orders_payment_id(self) -> uuid.UUID:
        """The payment that pays the order, as payment decided it."""
        return self.duplicate_of or self.payment_id


class PaymentRefundFailed(PaymentEvent, frozen=True, kw_only=True):
    """A refund the provider refused or could not complete (`failed`, `canceled`): nothing
    was given back. `refund_request_id` is cart's when cart asked for it; `lines` what it was
    to give back. Cart returns those lines to the state they had before the refund was asked
    for and shows the failure to staff; finance has it as an anomaly (`refund_failed`).
    Also a request of cart's that payment refused before asking the provider (more than is
    left on a line): `failure` then begins with `refused: `, no refund was written (its
    `refund_id` names none) and there is no anomaly, as no money moved.

    New in schema_version 1: every field beyond the refund's id has a default."""

    subject: ClassVar[str] = "evt.payment.refund.failed"
    refund_id: uuid.UUID
    refund_request_id: uuid.UUID | None = None
    lines: list[RefundLine] = msgspec.field(default_factory=list)
    reason: str = ""
    failure: str = ""
    duplicate_of: uuid.UUID | None = None


register(PaymentSucceeded, PaymentFailed, PaymentRefunded, PaymentRefundFailed)


# --- the payment service's own operations (gateway -> payment) --------------------------------
# Residents act on their own payments; finance/admin on reports; staff refunds need a reason.

# A provider registered in the payment service (its registry decides which exist).
ProviderName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,31}$", max_length=32)]
Topic = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_-]{0,32}$", max_length=32)]
Decision = Literal["pay", "decline", "abandon"]


class StartPaymentRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.start`: the order's owner starts paying it; returns where to send the
    browser (`redirect_url`) or a `client_secret` for the provider's own widget."""

    order_id: uuid.UUID
    idempotency_key: str | None = None
    # `invoice`: the order is invoiced to `organisation_id` (its contact persons, or staff for
    # any customer); the invoice is the payment and the order is paid at once (issue 19).
    method: Literal["online", "invoice"] = "online"
    organisation_id: uuid.UUID | None = None


class PaymentView(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    state: PaymentState
    amount_cents: int
    currency: str = "EUR"
    provider: str
    redirect_url: str | None = None
    client_secret: str | None = None
    failure_reason: str | None = None
    refunded_cents: int = 0
    payment_deadline: datetime
    created_at: datetime
    paid_at: datetime | None = None


class GetPaymentRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.get`: a payment by id, or the latest payment of an order (owner,
    finance, admin; staff of a merchant on the order)."""

    payment_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None


class WebhookRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.webhook`: a provider's delivery (webhook or callback) as the gateway got it:
    the raw body (UTF-8 text, byte for byte), the request's headers (lower-case names; the
    caller's credentials left out), its raw query string, method and the path's topic after
    the provider's name. The provider (from the payment service's registry) verifies it where
    it signs it: a header (`Stripe-Signature`, `X-Local-Signature`) or the query (Paytrail).
    `signature`: the signature header's value given on its own (tests, in-process delivery)."""

    provider: ProviderName
    body: str = ""
    signature: str = ""
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    query: Annotated[str, msgspec.Meta(max_length=8192)] = ""
    method: Literal["GET", "POST"] = "POST"
    topic: Topic = ""


class WebhookAck(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    duplicate: bool
    payment_id: uuid.UUID | None = None
    outcome: str = "ignored"  # succeeded | failed | ignored


class LocalDecideRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.local_decide`: the local test checkout page's buttons (pay | decline |
    abandon); the local provider then sends a signed webhook. Development and tests only."""

    payment_id: uuid.UUID
    decision: Decision
    idempotency_key: str | None = None


class CancelPaymentRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.cancel`: the payer leaves the provider's hosted page without paying (its
    "back" link): the provider's session is closed, the payment is `cancelled` (abandoned) and
    cart cancels the order, releasing its holds. A payment already paid stays paid."""

    payment_id: uuid.UUID
    idempotency_key: str | None = None


class RefundRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.refund`: staff of every merchant concerned, finance or admin refund lines
    of a paid order with a reason (besides the event-driven path from cart)."""

    order_id: uuid.UUID
    lines: list[RefundLine]
    reason: str
    idempotency_key: str | None = None


class RefundView(msgspec.Struct, frozen=True, kw_only=True):
    refund_id: uuid.UUID
    refund_request_id: uuid.UUID
    payment_id: uuid.UUID
    order_id: uuid.UUID
    amount_cents: int
    lines: list[RefundLine]
    reason: str
    created_at: datetime
    # pending until the provider says the money went back; failed: the provider refused or
    # could not pay it back (finance sees it as an anomaly; the lines stay paid).
    state: Literal["pending", "succeeded", "failed"] = "succeeded"
    failure: str | None = None


class SettlementRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.settlement`: finance (or admin): a merchant's day (Europe/Helsinki)."""

    day: date
    merchant_id: MerchantId


class SettlementRow(msgspec.Struct, frozen=True, kw_only=True):
    cost_centre: str
    vat_rate_bp: int
    gross_cents: int
    vat_cents: int
    net_cents: int
    refunded_gross_cents: int
    refunded_vat_cents: int
    refunded_net_cents: int
    fee_cents: int


class SettlementReport(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    merchant_id: str
    rows: list[SettlementRow]
    gross_cents: int
    vat_cents: int
    net_cents: int
    refunded_cents: int
    fee_cents: int
    payable_cents: int  # gross - refunds - fees
    payments: int
    csv: str


class ErpExportRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.erp_export`: finance (or admin): the day's accounting file for SAP. A day
    already exported is refused unless `reexport` is set (and the re-export is recorded)."""

    day: date
    reexport: bool = False
    idempotency_key: str | None = None


class ErpRow(msgspec.Struct, frozen=True, kw_only=True):
    company_code: str
    profit_centre: str
    gl_account: str
    vat_code: str
    internal_order: str
    kind: str  # sale | refund (card payments); invoice | credit_note (invoices)
    base_cents: int
    vat_cents: int


class ErpExport(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    run: int
    rows: list[ErpRow]
    csv: str
    sha256: str
    # The invoices and credit notes issued that day, with their customers (the ERP's sales
    # ledger); their amounts are the `invoice` and `credit_note` rows above.
    invoices: list[InvoiceView] = []


class ErpPreviewRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.erp_preview`: finance (or admin): the day's accounting file as an export
    would make it now, without recording an export run."""

    day: date


class ErpPreview(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    rows: list[ErpRow]
    csv: str
    exported_runs: int  # how many times the day was exported already (0: never)
    invoices: list[InvoiceView] = []


class ReconcileRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.reconcile`: finance (or admin): ledger vs the provider's balance
    transactions and payouts for [start, end) (UTC days)."""

    start: date
    end: date


class BalanceTransactionView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str  # charge | refund | payment | payout | ...
    source: str  # the charge/payment intent/refund it belongs to
    amount_cents: int
    fee_cents: int
    net_cents: int
    created: datetime
    payout_id: str | None = None


class ReconciliationItem(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    ledger_cents: int | None
    provider_cents: int | None
    fee_cents: int = 0


class PayoutCheck(msgspec.Struct, frozen=True, kw_only=True):
    payout_id: str
    amount_cents: int
    transactions_net_cents: int
    matches: bool


class ReconciliationReport(msgspec.Struct, frozen=True, kw_only=True):
    start: date
    end: date
    provider: str
    matched: list[ReconciliationItem]
    missing_at_provider: list[ReconciliationItem]
    missing_in_ledger: list[ReconciliationItem]
    amount_mismatches: list[ReconciliationItem]
    fees_cents: int
    payouts: list[PayoutCheck]
    balanced: bool


# --- anomalies: provider news that did not add up, for finance to settle -----------------------

AnomalyLimit = Annotated[int, msgspec.Meta(ge=1, le=500, description="rows per page (1-500)")]
AnomalyOffset = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000, description="rows to skip")]
Resolution = Annotated[
    str, msgspec.Meta(min_length=1, max_length=500, description="what was done (1-500 characters)")
]


class ListAnomaliesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.list_anomalies`: finance (or admin): provider news that did not add up
    (e.g. a success reporting another amount or currency), newest first; by default only
    those not resolved yet."""

    unresolved_only: bool = True
    limit: AnomalyLimit = 50
    offset: AnomalyOffset = 0


class AnomalyView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str  # amount_mismatch
    provider: str
    event_id: str
    payment_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    order_number: str | None = None
    amount_cents: int | None = None  # the payment's (what was expected)
    currency: str | None = None
    payment_state: PaymentState | None = None
    details: dict[str, Any]  # amount_mismatch: expected/reported cents and currency
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None


class AnomalyList(msgspec.Struct, frozen=True, kw_only=True):
    anomalies: list[AnomalyView]
    limit: int
    offset: int


class ResolveAnomalyRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.resolve_anomaly`: finance (or admin) marks an anomaly settled with a note
    of what was done. Resolving it again is a conflict (the same idempotency key replays the
    first reply)."""

    anomaly_id: int
    resolution: Resolution
    idempotency_key: str | None = None
