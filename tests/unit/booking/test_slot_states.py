"""The week grid's slots: free, taken and past ones told apart (issue 17)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from services.booking.domain.slots import Busy, free_slots, slot_states
from tests.unit.booking.test_domain import DAYTIME, HEL, hall


def test_taken_and_past_slots_are_kept_with_their_state_only_when_asked() -> None:
    day = date(2026, 2, 2)
    res = hall()
    now = datetime(2026, 2, 2, 10, 30, tzinfo=HEL)  # 08:00-10:00 (and 10:00) are gone
    at_twelve = datetime(2026, 2, 2, 12, tzinfo=HEL)
    busy = [Busy(starts_at=at_twelve, ends_at=at_twelve + timedelta(hours=1))]
    states = {
        s.astimezone(HEL).hour: state
        for s, _, _, state in slot_states(res, day, day, DAYTIME, {}, busy, now, 1, True)
    }
    assert (states[8], states[9], states[10]) == ("past", "past", "past")
    assert (states[11], states[12], states[13]) == ("free", "taken", "free")
    assert len(states) == 14  # 08:00-22:00, every hour accounted for
    plain = slot_states(res, day, day, DAYTIME, {}, busy, now)
    assert {state for *_, state in plain} == {"free"}
    assert [(s, e, f) for s, e, f, _ in plain] == free_slots(res, day, day, DAYTIME, {}, busy, now)
