"""The waiting list: entries queued for a taken time, and the states an entry goes through
(no I/O).

An entry `waiting` in the queue is `offered` a hold of the time when it frees; the offer is
`accepted` when the hold is confirmed (paid, or free), `declined` by its resident, or
`lapsed` when the hold ends otherwise (expired, released). A resident may `leave` at any time
before that; an entry whose time can no longer be booked (past, closed) is `void`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast, get_args

from shared.contracts.common import Principal, Role
from shared.state_machine import StateMachine

EntryState = Literal["waiting", "offered", "accepted", "declined", "lapsed", "left", "void"]
EntryAction = Literal["offer", "accept", "decline", "lapse", "leave", "void"]
OPEN_STATES: tuple[EntryState, ...] = ("waiting", "offered")

TRANSITIONS: dict[tuple[EntryState, EntryAction], EntryState] = {
    ("waiting", "offer"): "offered",
    ("waiting", "leave"): "left",
    ("waiting", "void"): "void",
    ("offered", "accept"): "accepted",
    ("offered", "decline"): "declined",
    ("offered", "lapse"): "lapsed",
    ("offered", "leave"): "left",
}
ENTRIES: StateMachine[EntryState, EntryAction] = StateMachine(
    TRANSITIONS, refusal="cannot {event} a waiting-list entry that is {state}"
)
transition = ENTRIES.step


@dataclass(kw_only=True)
class WaitlistEntry:
    id: uuid.UUID
    resource_id: uuid.UUID
    customer: str
    starts_at: datetime
    ends_at: datetime
    places: int = 1
    state: EntryState = "waiting"
    booker: dict[str, object] | None = None
    reservation_id: uuid.UUID | None = None
    offered_at: datetime | None = None
    offer_expires_at: datetime | None = None
    reason: str | None = None
    position: int = 0
    created_at: datetime | None = None


def booker_of(principal: Principal) -> dict[str, object]:
    """What an offer needs of the resident who queued (who may book, at which price), kept
    with the entry: never their name or address."""
    return {
        "roles": list(principal.roles),
        "departments": list(principal.departments),
        "scopes": list(principal.scopes),
        "home_municipality": principal.home_municipality,
    }


def booker_principal(entry: WaitlistEntry) -> Principal:
    """The resident an offer is held for, as they were when they queued."""
    b = entry.booker or {}

    def strings(key: str) -> tuple[str, ...]:
        found = b.get(key)
        return tuple(str(x) for x in found) if isinstance(found, list) else ()

    known = set(get_args(Role)) - {"system"}
    roles = tuple(cast(Role, r) for r in strings("roles") if r in known) or ("resident",)
    home = b.get("home_municipality")
    return Principal(
        subject=entry.customer,
        roles=roles,
        departments=strings("departments"),
        scopes=strings("scopes"),
        home_municipality=home if isinstance(home, str) else None,
    )


def offer_expiry(now: datetime, offer_s: int, starts_at: datetime) -> datetime:
    """Until when an offer is held: `offer_s` from now, never past the time's start."""
    return min(now + timedelta(seconds=offer_s), starts_at)
