"""The provider interface: typed results and a closed set of provider errors."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Literal, Protocol

from shared.contracts.cart import OrderLineSnapshot
from shared.contracts.payment import BalanceTransactionView


class ProviderError(Exception):
    """Base of the closed set below; never raised itself."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time: retry later with the same idempotency key."""


class ProviderConnectionError(ProviderError):
    """The provider could not be reached."""


class ProviderRejected(ProviderError):
    """The provider answered with an error (status and its own code)."""

    def __init__(self, message: str, *, status: int = 400, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class InvalidSignature(ProviderError):
    """A webhook whose signature does not verify (forged, stale or for another secret)."""


class ReportPending(ProviderError):
    """The provider delivers the report asked for later (by callback): ask again shortly."""


@dataclass(frozen=True)
class WebhookAuth:
    """How a provider's deliveries (webhooks, callbacks) prove they are its own: where its
    signature travels and the name its API gives it. A delivery whose signature does not
    verify is refused (400) naming it; the gateway passes every delivery on as it came
    (body, headers, query), so adding a provider needs no change there."""

    location: Literal["header", "query"]
    name: str  # e.g. Stripe-Signature (a header), signature (a query parameter)


@dataclass(frozen=True)
class Delivery:
    """A provider's webhook or callback as the gateway received it."""

    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    query: tuple[tuple[str, str], ...] = ()  # decoded, in the order they came
    method: Literal["GET", "POST"] = "POST"
    topic: str = ""  # the path segment after the provider's (e.g. refund, report)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class Capabilities:
    """What a provider supports, as data: the service checks an order against it before the
    provider is called, and fits the provider's session into the order's payment window."""

    partial_refunds: bool = True
    min_amount_cents: int = 1
    max_amount_cents: int | None = None
    # How long a hosted checkout may stay open (None: no limit). A window shorter than the
    # minimum is opened for the minimum and closed by our own sweeper in time.
    window_min: timedelta = timedelta(0)
    window_max: timedelta | None = None
    methods: tuple[str, ...] = ("card",)
    # Refunds are confirmed later by a webhook (or a status query): `pending` until then.
    refunds_confirmed_later: bool = False
    # Whether the provider account is shared with other applications (Stripe: an account may
    # serve several): a verified event of a payment we do not know is then someone else's
    # (acknowledged, ignored); on an account of our own (Paytrail's merchant) it is an
    # anomaly for finance.
    shared_account: bool = True
    # Whether the provider can close an open payment (Stripe expires a session); one that
    # cannot may still take money after our window closed: that payment is refunded by cart.
    can_close: bool = True


@dataclass(frozen=True)
class PaymentOrder:
    """What a provider needs to open a payment (never card data). `customer_email` and
    `language` (fi, sv, en) are the payer's, for providers whose page needs them."""

    payment_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    amount_cents: int
    description: str
    expires_at: datetime  # when the provider's session must close (fitted to its window)
    lines: tuple[OrderLineSnapshot, ...] = ()
    reference_number: str = ""
    customer_email: str = ""
    language: str = "fi"


@dataclass(frozen=True)
class StartResult:
    provider_ref: str
    redirect_url: str | None = None
    client_secret: str | None = None


WebhookKind = Literal[
    "succeeded",  # money taken
    "declined",  # the attempt failed (the resident may try again)
    "abandoned",  # the checkout ended without payment (expired, left)
    "processing",  # completed, the money comes later (async methods): nothing to do yet
    "refund",  # news of a refund: `refund_ref`, `refund_status`
    "dispute",  # news of a dispute (chargeback): `dispute_ref`, `dispute_status`
    "report",  # a report the provider was asked for (settlement): `report_id`, `report`
    "ignored",
]
RefundStatus = Literal["pending", "succeeded", "failed"]
# What cancelling at the provider found: closed now (or before), paid after all, or still
# being processed (it may yet be paid or fail).
CancelOutcome = Literal["cancelled", "paid", "processing"]


@dataclass(frozen=True)
class WebhookNews:
    """A verified provider event, reduced to what payment acts on."""

    event_id: str
    event_type: str
    kind: WebhookKind
    provider_ref: str | None
    fee_cents: int | None = None  # None: the event does not carry the provider's fee
    payment_id: uuid.UUID | None = None  # ours, as the provider echoes it (metadata)
    amount_cents: int | None = None  # what the provider says it took (None: not told)
    currency: str | None = None
    provider_payment_ref: str | None = None  # the payment behind a checkout (a PaymentIntent)
    refund_ref: str | None = None
    refund_status: RefundStatus | None = None
    refund_id: uuid.UUID | None = None  # ours, as the provider echoes it (metadata)
    dispute_ref: str | None = None
    dispute_status: str | None = None  # the provider's word: needs_response, won, lost, ...
    dispute_closed: bool = False
    reason: str | None = None  # the provider's failure or dispute reason
    report_id: uuid.UUID | None = None  # ours, as the provider's report delivery names it
    report: tuple[Mapping[str, object], ...] = ()  # its rows, as the provider gave them
    stamp: str | None = None  # the provider's word for our payment or refund (Paytrail)


@dataclass(frozen=True)
class RefundResult:
    provider_ref: str
    status: RefundStatus = "succeeded"
    failure: str | None = None  # the provider's reason when `failed` (or canceled)


@dataclass(frozen=True)
class Payout:
    id: str
    amount_cents: int
    arrival: datetime


class Provider(Protocol):
    name: str
    capabilities: ClassVar[Capabilities]
    webhook_auth: ClassVar[WebhookAuth]

    async def start(self, order: PaymentOrder, idempotency_key: str) -> StartResult: ...

    def parse_webhook(self, delivery: Delivery) -> WebhookNews:
        """Verify the delivery (InvalidSignature when it does not) and say what it means."""
        ...

    async def refund(
        self,
        provider_ref: str,
        amount_cents: int,
        idempotency_key: str,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundResult:
        """`metadata`: ours (refund and payment ids), echoed in the provider's refund news."""
        ...

    async def refund_status(self, refund_ref: str) -> RefundResult:
        """What the provider says of a refund now (for refunds whose webhook never came)."""
        ...

    async def cancel(self, provider_ref: str, idempotency_key: str) -> CancelOutcome:
        """Close the payment at the provider; says whether it had been paid meanwhile."""
        ...

    async def balance_transactions(
        self, start: datetime, end: datetime
    ) -> list[BalanceTransactionView]: ...

    async def payouts(self, start: datetime, end: datetime) -> list[Payout]: ...

    async def fee_of(self, provider_ref: str) -> int | None:
        """The provider's fee for a paid payment, when its webhook does not carry it."""
        ...
