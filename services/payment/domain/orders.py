"""When an order may be paid, and how a provider's limits and window apply to it (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.payment.providers.base import Capabilities
from shared.contracts.cart import OrderForPayment
from shared.errors import Conflict, Gone, ValidationFailed

# A provider's shortest window is counted from the payment's creation plus this much, so that
# a retry of the same call (same idempotency key, same parameters) a few minutes later is
# still inside the provider's limits.
WINDOW_SLACK = timedelta(minutes=5)


def check_payable(order: OrderForPayment, closes_before: timedelta = timedelta(0)) -> None:
    """`closes_before`: how long before the order's deadline the provider's session closes."""
    if order.state != "awaiting_payment":  # `reason`: paid already, or cancelled
        raise Conflict(
            f"the order is {order.state}, not awaiting payment",
            field="order_id",
            reason="paid" if order.state != "cancelled" else "cancelled",
        )
    if order.currency != "EUR":
        raise ValidationFailed("only EUR is accepted", field="currency")
    if order.total_cents < 0 or sum(line.gross_cents for line in order.lines) != order.total_cents:
        raise ValidationFailed("the order's lines do not add up to its total", field="order_id")
    if order.payment_deadline - closes_before <= datetime.now(UTC):
        raise Gone("the payment window has closed", field="order_id", reason="window_closed")


def check_provider_limits(amount_cents: int, provider: str, caps: Capabilities) -> None:
    """Refuse, before the provider is called, an amount the provider would refuse."""
    euros = f"EUR {amount_cents / 100:.2f}"
    if amount_cents < caps.min_amount_cents:
        raise ValidationFailed(
            f"{euros} is below the smallest payment {provider} takes "
            f"(EUR {caps.min_amount_cents / 100:.2f})",
            field="order_id",
            reason="below_provider_minimum",
            amount_cents=amount_cents,
            minimum_cents=caps.min_amount_cents,
            provider=provider,
        )
    if caps.max_amount_cents is not None and amount_cents > caps.max_amount_cents:
        raise ValidationFailed(
            f"{euros} is above the largest payment {provider} takes "
            f"(EUR {caps.max_amount_cents / 100:.2f})",
            field="order_id",
            reason="above_provider_maximum",
            amount_cents=amount_cents,
            maximum_cents=caps.max_amount_cents,
            provider=provider,
        )


def provider_expiry(closes_at: datetime, created_at: datetime, caps: Capabilities) -> datetime:
    """When the provider's session expires: when the order's window closes, but within the
    provider's limits counted from the payment's creation (the same for every retry). A window
    shorter than the provider's minimum is opened for the minimum: the sweeper then closes
    the session itself before the holds end."""
    at = closes_at
    if caps.window_min > timedelta(0):
        at = max(at, created_at + caps.window_min + WINDOW_SLACK)
    if caps.window_max is not None:
        at = min(at, created_at + caps.window_max)
    return at.replace(microsecond=0)
