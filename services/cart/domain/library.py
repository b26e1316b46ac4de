"""Which library debits a resident may pay through the cart, the back-off of recording, what
is credited or refunded when the library changed a debit, and the PIN lock-out's timing."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.cart.domain.model import LineDraft
from services.cart.domain.pricing import split_gross
from shared.contracts.cart import Merchant

KOHA_VERSIONS = ("22.11", "23.05", "23.11", "24.05", "24.11", "25.05")  # the supported ones


@dataclass(frozen=True)
class Debit:
    """A patron's outstanding charge as the library system tells it."""

    account_line_id: int
    debit_type: str
    description: str
    amount_outstanding_cents: int
    library_id: str | None = None  # the branch the debit belongs to (Koha's library_id)


@dataclass(frozen=True, kw_only=True)
class DebitHolder:
    """The order a debit is in (one that may still be paid, or paid and not given back)."""

    order_id: uuid.UUID
    order_number: str
    state: str
    customer: str


RegistrationState = Literal[
    "pending", "recorded", "registration_failed", "resolved_by_hand", "expired", "cancelled"
]


@dataclass(frozen=True, kw_only=True)
class LibraryRegistration:
    """A paid library line being recorded in the library system (one per line)."""

    line_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    patron_id: str
    account_line_ids: list[int]
    amount_cents: int
    state: RegistrationState
    attempts: int
    last_error: str | None = None
    credit_id: str | None = None
    failed_at: datetime | None = None
    updated_at: datetime


def library_line(debit: Debit, patron_id: str, merchant: Merchant, vat_bp: int) -> LineDraft:
    """A debit as a cart line: its whole outstanding amount, at the library merchant's rate."""
    gross = debit.amount_outstanding_cents
    net, vat = split_gross(gross, vat_bp)
    return LineDraft(
        kind="library_debit",
        reference=str(debit.account_line_id),
        description=debit.description,
        merchant_id=merchant.id,
        cost_centre=merchant.cost_centre,
        gross_cents=gross,
        net_cents=net,
        vat_cents=vat,
        vat_rate_bp=vat_bp,
        details={"patron_id": patron_id, "debit_type": debit.debit_type},
    )


def debit_order_details(holder: DebitHolder, ident: int, customer: str) -> dict[str, Any]:
    """What a resident is told of the order holding a debit: the way to it when it is theirs
    (a card linked by two accounts does not show one the other's orders)."""
    details: dict[str, Any] = {"field": "account_line_ids", "id": ident}
    details["order_state"] = holder.state
    if holder.customer == customer:
        details["order_id"] = str(holder.order_id)
        details["order_number"] = holder.order_number
    return details


def non_payable_reason(debit_type: str, non_payable_types: Iterable[str]) -> str:
    """'' when payable; otherwise why not (e.g. a lost item under dispute)."""
    if debit_type in set(non_payable_types):
        return "this charge cannot be paid online; please contact the library"
    return ""


def next_attempt(attempts_done: int, delays: Sequence[float], now: datetime) -> datetime | None:
    """When to try again after `attempts_done` failed attempts; None: give up."""
    if attempts_done > len(delays):
        return None
    return now + timedelta(seconds=delays[attempts_done - 1])


def check_library_first(attempts: int, last_error: str | None) -> bool:
    """Ask the library whether the debits are settled before posting a credit, whenever an
    earlier attempt may have reached it: a failed or unanswered post can have been recorded,
    and a clerk's retry resets the attempt counter but not that history."""
    return attempts > 1 or last_error is not None


@dataclass(frozen=True)
class Settlement:
    """What becomes of a paid library line once the library's account has been read again."""

    credit_cents: int = 0  # posted as a credit against the line's debits
    refund_cents: int = 0  # given back: paid or reduced at the library's desk since checkout
    settled_by_us: bool = False  # an earlier attempt of ours was recorded (its reply lost)
    needs_clerk: bool = False  # changed at the desk after an attempt with unknown outcome


def settle(paid_cents: int, outstanding_cents: int, may_have_posted: bool) -> Settlement:
    """Koha applies whatever is left of a credit to the patron's OTHER debits, so only what
    the chosen debits still owe is credited; the rest goes back to the resident. After an
    attempt that may have reached Koha, a debit gone means ours was recorded, and a debit
    only reduced is for a clerk to sort out (was it our credit, or the desk?)."""
    if outstanding_cents >= paid_cents:
        return Settlement(credit_cents=paid_cents)
    if may_have_posted:
        if outstanding_cents <= 0:
            return Settlement(settled_by_us=True)
        return Settlement(needs_clerk=True)
    credit = max(outstanding_cents, 0)
    return Settlement(credit_cents=credit, refund_cents=paid_cents - credit)


# --- PIN guessing -------------------------------------------------------------------------

PinAttemptKind = Literal["card", "address"]
FORGET_PIN_ATTEMPTS_AFTER = timedelta(days=1)


def card_digest(key: str, card_number: str) -> bytes:
    """A keyed hash (HMAC-SHA256 under `CART_LIBRARY_CARD_KEY`) of a library card number, so
    the service desk finds a card's customer without the number being stored: a card number
    has too few digits for a plain hash to hide it."""
    return hmac.digest(key.encode(), card_number.strip().casefold().encode(), hashlib.sha256)


def looks_like_card(q: str) -> bool:
    """A search text that could be a library card number (as `link_library_card` takes)."""
    return q.isalnum() and 4 <= len(q) <= 32


def attempt_key(kind: PinAttemptKind, value: str) -> str:
    """The pseudonym attempts are counted under: no card number or address is stored."""
    return hashlib.sha256(f"library-pin:{kind}:{value.casefold()}".encode()).hexdigest()


def lock_seconds(lockouts: int, first_s: float, longest_s: float) -> float:
    """How long the `lockouts`-th lock-out (0-based) lasts: doubling, at most `longest_s`."""
    return min(first_s * 2.0 ** min(lockouts, 32), longest_s)


@dataclass(frozen=True)
class PinAttempts:
    failures: int = 0  # attempts since the last lock-out that did not succeed (so far)
    lockouts: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Admission:
    admitted: bool
    after: PinAttempts  # the counts with this attempt taken as failed until it succeeds
    locks: bool = False  # this attempt set the lock-out (undone if it succeeds)
    retry_after_s: float = 0.0


def admit_pin_attempt(
    before: PinAttempts,
    updated_at: datetime | None,
    now: datetime,
    limit: int,
    first_lock_s: float,
    longest_lock_s: float,
) -> Admission:
    """May one more PIN attempt go to the library? Each admitted attempt counts as failed
    until it succeeds, so concurrent attempts can never pass more than `limit`; the one that
    reaches the limit sets the lock-out (doubling with each), which its success lifts."""
    if limit <= 0:
        return Admission(admitted=True, after=before)
    if updated_at is not None and updated_at < now - FORGET_PIN_ATTEMPTS_AFTER:
        before = PinAttempts()
    if before.locked_until is not None and before.locked_until > now:
        wait = (before.locked_until - now).total_seconds()
        return Admission(admitted=False, after=before, retry_after_s=wait)
    failures = (0 if before.locked_until is not None else before.failures) + 1
    if failures < limit:
        return Admission(admitted=True, after=PinAttempts(failures, before.lockouts))
    until = now + timedelta(seconds=lock_seconds(before.lockouts, first_lock_s, longest_lock_s))
    return Admission(
        admitted=True, after=PinAttempts(failures, before.lockouts + 1, until), locks=True
    )
