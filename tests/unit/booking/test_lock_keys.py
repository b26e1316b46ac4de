"""Advisory-lock keys of bookings: overlapping ranges always conflict, other times do not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.booking.store import lock_keys, lock_set

HALL = uuid.UUID("6f1c8a52-2d0e-4c53-9a57-9c1f3b1e0a01")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def conflict(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    """Some key both take, at least one of them outright (shared with shared is no conflict)."""
    mine = dict(lock_keys(HALL, *a))
    theirs = dict(lock_keys(HALL, *b))
    return any(not (mine[k] and theirs[k]) for k in mine.keys() & theirs.keys())


def test_overlapping_exclusive_ranges_conflict() -> None:
    cases = [
        ((at(3, 10), at(3, 11)), (at(3, 10, 30), at(3, 12))),
        ((at(3, 22), at(4, 2)), (at(4, 1), at(4, 3))),  # over midnight / next night
        ((at(3, 8), at(6, 8)), (at(5, 12), at(5, 13))),  # a weekend event / an hour inside it
        ((at(3, 8), at(6, 8)), (at(5, 12), at(7, 13))),  # two long ones
        ((at(3, 23, 30), at(4, 0, 30)), (at(3, 23), at(3, 23, 45))),
    ]
    for a, b in cases:
        assert conflict(a, b), (a, b)
        assert conflict(b, a), (b, a)


def test_exclusive_ranges_at_other_times_or_resources_do_not_conflict() -> None:
    ten = (at(7, 10), at(7, 11))
    assert not conflict(ten, (at(7, 11), at(7, 12)))  # back to back
    assert not conflict(ten, (at(7, 14), at(7, 15)))
    assert not conflict(ten, (at(8, 10), at(8, 11)))
    other = dict(lock_keys(uuid.uuid4(), *ten))
    assert not other.keys() & dict(lock_keys(HALL, *ten)).keys()


def test_a_long_range_locks_its_days_in_key_order() -> None:
    week = lock_keys(HALL, at(1, 0), at(1, 0) + timedelta(days=5))
    assert [k for k, _ in week] == sorted(k for k, _ in week)
    assert len(week) == 5  # a long range: its days, outright
    assert not any(shared for _, shared in week)


def test_a_key_one_range_locks_outright_is_not_taken_shared() -> None:
    short = lock_keys(HALL, at(3, 10), at(3, 11))
    long = lock_keys(HALL, at(3, 0), at(5, 0))
    keys, shared = lock_set([*short, *long])
    assert keys == sorted(keys)
    both = dict(short).keys() & dict(long).keys()
    assert both
    assert all(not shared[keys.index(k)] for k in both)
