"""The waiting list's rules: every edge of an entry's states, the resident an offer is held
for, and how long it is held."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.booking.domain.waitlist import (
    TRANSITIONS,
    WaitlistEntry,
    booker_of,
    booker_principal,
    offer_expiry,
    transition,
)
from shared.contracts.common import Principal
from shared.errors import Conflict

STATES = ("waiting", "offered", "accepted", "declined", "lapsed", "left", "void")
ACTIONS = ("offer", "accept", "decline", "lapse", "leave", "void")
NOW = datetime(2026, 12, 6, 10, tzinfo=UTC)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_edge_is_taken_and_no_other(state: str, action: str) -> None:
    if (state, action) in TRANSITIONS:
        assert transition(state, action) == TRANSITIONS[(state, action)]  # type: ignore[arg-type]
    else:
        with pytest.raises(Conflict):
            transition(state, action)  # type: ignore[arg-type]


def test_only_waiting_and_offered_entries_move() -> None:
    assert {s for s, _ in TRANSITIONS} == {"waiting", "offered"}


def test_an_offer_is_booked_as_the_resident_who_queued_without_their_name() -> None:
    who = Principal(
        subject="resident-bea", roles=("resident",), home_municipality="853",
        scopes=("association",), name="Bea", email="bea@example.fi",
    )  # fmt: skip
    kept = booker_of(who)
    assert "name" not in kept
    assert "email" not in kept
    entry = WaitlistEntry(
        id=uuid.uuid4(), resource_id=uuid.uuid4(), customer="resident-bea",
        starts_at=NOW, ends_at=NOW + timedelta(hours=1), booker=kept,
    )  # fmt: skip
    again = booker_principal(entry)
    assert (again.subject, again.roles, again.home_municipality, again.scopes) == (
        "resident-bea", ("resident",), "853", ("association",),
    )  # fmt: skip


def test_a_kept_system_role_is_never_restored() -> None:
    entry = WaitlistEntry(
        id=uuid.uuid4(), resource_id=uuid.uuid4(), customer="x", starts_at=NOW,
        ends_at=NOW + timedelta(hours=1), booker={"roles": ["system", "admin", "bogus"]},
    )  # fmt: skip
    assert booker_principal(entry).roles == ("admin",)


def test_an_offer_is_held_for_its_time_but_never_past_the_start() -> None:
    assert offer_expiry(NOW, 1800, NOW + timedelta(days=1)) == NOW + timedelta(minutes=30)
    assert offer_expiry(NOW, 1800, NOW + timedelta(minutes=10)) == NOW + timedelta(minutes=10)
