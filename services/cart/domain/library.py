"""Which library debits a resident may pay through the cart, and the back-off of recording."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta


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
