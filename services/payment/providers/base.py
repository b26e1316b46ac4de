"""The provider interface: typed results and a closed set of provider errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

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


@dataclass(frozen=True)
class PaymentOrder:
    """What a provider needs to open a payment (never card data)."""

    payment_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    amount_cents: int
    description: str
    expires_at: datetime


@dataclass(frozen=True)
class StartResult:
    provider_ref: str
    redirect_url: str | None = None
    client_secret: str | None = None


WebhookKind = Literal["succeeded", "declined", "abandoned", "ignored"]
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


@dataclass(frozen=True)
class RefundResult:
    provider_ref: str


@dataclass(frozen=True)
class Payout:
    id: str
    amount_cents: int
    arrival: datetime


class Provider(Protocol):
    name: str

    async def start(self, order: PaymentOrder, idempotency_key: str) -> StartResult: ...

    def parse_webhook(self, body: bytes, signature: str) -> WebhookNews: ...

    async def refund(
        self, provider_ref: str, amount_cents: int, idempotency_key: str
    ) -> RefundResult: ...

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
