"""When an order may be paid (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.contracts.cart import OrderForPayment
from shared.errors import Conflict, Gone, ValidationFailed


def check_payable(order: OrderForPayment, closes_before: timedelta = timedelta(0)) -> None:
    """`closes_before`: how long before the order's deadline the provider's session closes."""
    if order.state != "awaiting_payment":
        raise Conflict(f"the order is {order.state}, not awaiting payment", field="order_id")
    if order.currency != "EUR":
        raise ValidationFailed("only EUR is accepted", field="currency")
    if order.total_cents <= 0 or sum(line.gross_cents for line in order.lines) != order.total_cents:
        raise ValidationFailed("the order's lines do not add up to its total", field="order_id")
    if order.payment_deadline - closes_before <= datetime.now(UTC):
        raise Gone("the payment window has closed")
