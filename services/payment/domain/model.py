"""Payment states and their edges, each named by the cause that moves a payment along it."""

from __future__ import annotations

from typing import Literal

from shared.contracts.payment import FailureReason, PaymentState
from shared.state_machine import StateMachine

Cause = Literal[
    "provider_session_opened",  # the provider accepted the payment: the resident may pay
    "provider_paid",  # the provider's webhook (or its answer to a cancel): money taken
    "provider_declined",  # the provider's webhook: card/bank refused
    "resident_abandoned",  # the resident left the checkout (or the provider's session ended)
    "window_closed",  # the order's payment deadline is near (the sweeper)
    "provider_error",  # the provider refused to open a session
    "superseded",  # another payment of the same order was paid: this open one stops
    "payer_cancelled",  # the payer cancels the order on our page (after a declined attempt)
]

TRANSITIONS: dict[tuple[PaymentState, Cause], PaymentState] = {
    ("created", "provider_session_opened"): "pending",
    ("created", "provider_error"): "failed",
    ("created", "window_closed"): "expired",
    ("created", "superseded"): "cancelled",
    ("pending", "provider_paid"): "succeeded",
    ("pending", "provider_declined"): "failed",
    ("pending", "resident_abandoned"): "cancelled",
    ("pending", "window_closed"): "expired",
    ("pending", "superseded"): "cancelled",
    ("pending", "payer_cancelled"): "cancelled",
    # A declined attempt leaves the order payable until its window ends; the payer may end it
    # at once (Paytrail's "fail" is final: the resident comes back to our page).
    ("failed", "payer_cancelled"): "cancelled",
    # Money taken after we gave up (or after a decline: a Stripe PaymentIntent stays payable
    # after `payment_failed`) still counts: money taken is always delivered or refunded.
    ("failed", "provider_paid"): "succeeded",
    ("expired", "provider_paid"): "succeeded",
    ("cancelled", "provider_paid"): "succeeded",
}

# Late or repeated news that must change nothing (webhooks arrive in any order).
IGNORED: frozenset[tuple[PaymentState, Cause]] = frozenset(
    {
        ("succeeded", "provider_paid"),
        ("succeeded", "provider_declined"),
        ("succeeded", "resident_abandoned"),
        ("succeeded", "window_closed"),
        ("failed", "provider_declined"),
        ("failed", "resident_abandoned"),
        ("failed", "window_closed"),
        ("failed", "superseded"),
        ("cancelled", "resident_abandoned"),
        ("cancelled", "provider_declined"),
        ("cancelled", "window_closed"),
        ("cancelled", "superseded"),
        ("expired", "window_closed"),
        ("expired", "provider_declined"),
        ("expired", "resident_abandoned"),
        ("expired", "superseded"),
        ("succeeded", "payer_cancelled"),
        ("cancelled", "payer_cancelled"),
        ("expired", "payer_cancelled"),
    }
)

FAILURE_REASON: dict[PaymentState, FailureReason] = {
    "failed": "declined",
    "cancelled": "abandoned",
    "expired": "expired",
}

OPEN_STATES: frozenset[PaymentState] = frozenset({"created", "pending"})


PAYMENTS: StateMachine[PaymentState, Cause] = StateMachine(
    TRANSITIONS, refusal="a payment in state {state} cannot take {event}", ignored=IGNORED
)
# The state after a cause; None when the cause changes nothing; Conflict when not allowed.
next_state = PAYMENTS.step_unless_ignored


def failure_reason(state: PaymentState, cause: Cause) -> FailureReason:
    if cause == "provider_error":
        return "error"
    if cause == "superseded":
        return "cancelled"
    return FAILURE_REASON[state]


def reported_amount_matches(
    amount_cents: int, currency: str, reported_cents: int | None, reported_currency: str | None
) -> bool:
    """Whether what the provider says it took is what we asked for (unknown parts pass)."""
    if reported_cents is not None and reported_cents != amount_cents:
        return False
    return reported_currency is None or reported_currency.upper() == currency.upper()
