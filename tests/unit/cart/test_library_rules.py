"""Pure library rules: what is credited or refunded when the library changed a debit, and
the PIN lock-out (admission, back-off, pseudonyms)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.cart.domain.library import (
    PinAttempts,
    Settlement,
    admit_pin_attempt,
    attempt_key,
    lock_seconds,
    settle,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("paid", "owed", "may_have_posted", "expected"),
    [
        (240, 240, False, Settlement(credit_cents=240)),
        (240, 310, False, Settlement(credit_cents=240)),  # a fine that grew: pay what was paid
        (240, 140, False, Settlement(credit_cents=140, refund_cents=100)),  # reduced at desk
        (240, 0, False, Settlement(refund_cents=240)),  # paid in full at the desk
        (240, 240, True, Settlement(credit_cents=240)),  # the earlier post did not land
        (240, 0, True, Settlement(settled_by_us=True)),  # the earlier post landed
        (240, 140, True, Settlement(needs_clerk=True)),  # ours or the desk's? a clerk decides
    ],
)
def test_only_what_the_debit_still_owes_is_credited_and_the_rest_refunded(
    paid: int, owed: int, may_have_posted: bool, expected: Settlement
) -> None:
    outcome = settle(paid, owed, may_have_posted)
    assert outcome == expected
    assert outcome.credit_cents + outcome.refund_cents in (0, paid)


def admit(before: PinAttempts, limit: int = 3, at: datetime = NOW) -> tuple[bool, PinAttempts]:
    admission = admit_pin_attempt(before, at - timedelta(minutes=1), at, limit, 60, 3600)
    return admission.admitted, admission.after


def test_the_attempt_reaching_the_limit_locks_and_the_next_waits_for_the_lock() -> None:
    state = PinAttempts()
    for failures in (1, 2):
        admitted, state = admit(state)
        assert admitted
        assert state == PinAttempts(failures, 0, None)
    third = admit_pin_attempt(state, NOW, NOW, 3, 60, 3600)
    assert third.admitted
    assert third.locks
    assert third.after == PinAttempts(3, 1, NOW + timedelta(seconds=60))
    refused = admit_pin_attempt(third.after, NOW, NOW + timedelta(seconds=20), 3, 60, 3600)
    assert not refused.admitted
    assert refused.retry_after_s == 40


def test_after_a_lock_out_the_count_starts_again_and_the_next_lock_is_longer() -> None:
    locked = PinAttempts(3, 1, NOW)
    admitted, state = admit(locked, at=NOW + timedelta(seconds=1))
    assert admitted
    assert state.failures == 1
    assert state.lockouts == 1
    second = admit_pin_attempt(PinAttempts(2, 1), NOW, NOW, 3, 60, 3600)
    assert second.after.locked_until == NOW + timedelta(seconds=120)
    assert [lock_seconds(n, 60, 3600) for n in range(8)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_counts_are_forgotten_after_a_quiet_day_and_a_limit_of_zero_turns_it_off() -> None:
    old = PinAttempts(2, 5, None)
    fresh = admit_pin_attempt(old, NOW - timedelta(days=2), NOW, 3, 60, 3600)
    assert fresh.after == PinAttempts(1, 0, None)
    off = admit_pin_attempt(PinAttempts(99, 9, NOW + timedelta(hours=1)), NOW, NOW, 0, 60, 3600)
    assert off.admitted


def test_attempts_are_counted_under_pseudonyms() -> None:
    key = attempt_key("card", "2600123456")
    assert "2600123456" not in key
    assert len(key) == 64
    assert key == attempt_key("card", "2600123456")
    assert key != attempt_key("address", "2600123456")
