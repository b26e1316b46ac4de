"""Payment states and their edges, each named by the cause that moves a payment along it."""

from __future__ import annotations

from typing import Literal

from shared.contracts.payment import FailureReason, PaymentState
from shared.errors import Conflict

Cause = Literal[
    "provider_session_opened",  # the provider accepted the payment: the resident may pay
    "provider_paid",  # the provider's webhook: money taken
    "provider_declined",  # the provider's webhook: card/bank refused
    "resident_abandoned",  # the resident left the checkout (or the provider's session ended)
    "window_closed",  # the order's payment deadline passed (the sweeper)
    "provider_error",  # the provider refused to open a session
]

TRANSITIONS: dict[tuple[PaymentState, Cause], PaymentState] = {
    ("created", "provider_session_opened"): "pending",
    ("created", "provider_error"): "failed",
    ("created", "window_closed"): "expired",
    ("pending", "provider_paid"): "succeeded",
    ("pending", "provider_declined"): "failed",
    ("pending", "resident_abandoned"): "cancelled",
    ("pending", "window_closed"): "expired",
    # Money that arrives after we gave up still counts: cart decides (paid-after-expiry path).
    ("expired", "provider_paid"): "succeeded",
    ("cancelled", "provider_paid"): "succeeded",
}

# Late or repeated provider news that must change nothing (webhooks arrive in any order).
IGNORED: frozenset[tuple[PaymentState, Cause]] = frozenset(
    {
        ("succeeded", "provider_paid"),
        ("succeeded", "provider_declined"),
        ("succeeded", "resident_abandoned"),
        ("succeeded", "window_closed"),
        ("failed", "provider_declined"),
        ("failed", "resident_abandoned"),
        ("failed", "window_closed"),
        ("cancelled", "resident_abandoned"),
        ("cancelled", "provider_declined"),
        ("cancelled", "window_closed"),
        ("expired", "window_closed"),
        ("expired", "provider_declined"),
        ("expired", "resident_abandoned"),
    }
)

FAILURE_REASON: dict[PaymentState, FailureReason] = {
    "failed": "declined",
    "cancelled": "abandoned",
    "expired": "expired",
}

OPEN_STATES: frozenset[PaymentState] = frozenset({"created", "pending"})


def next_state(state: PaymentState, cause: Cause) -> PaymentState | None:
    """The state after `cause`; None when the cause changes nothing; Conflict when not allowed."""
    if (state, cause) in IGNORED:
        return None
    try:
        return TRANSITIONS[(state, cause)]
    except KeyError:
        raise Conflict(f"a payment in state {state} cannot take {cause}", state=state) from None


def failure_reason(state: PaymentState, cause: Cause) -> FailureReason:
    if cause == "provider_error":
        return "error"
    return FAILURE_REASON[state]
