"""The booking domain: resources, reservations and the reservation state machine (no I/O)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal

from shared.state_machine import StateMachine

State = Literal["requested", "held", "confirmed", "cancelled", "expired", "denied", "released"]
Action = Literal[
    "approve", "approve_free", "deny", "confirm", "release", "expire", "cancel", "retake"
]
ACTIVE_STATES: tuple[State, ...] = ("requested", "held", "confirmed")

# (from state, action) -> to state. Every edge the service may take, and no other.
TRANSITIONS: dict[tuple[State, Action], State] = {
    ("requested", "approve"): "held",
    ("requested", "approve_free"): "confirmed",
    ("requested", "deny"): "denied",
    ("requested", "cancel"): "cancelled",
    ("requested", "expire"): "expired",  # not decided by its deadline (or its start)
    ("held", "confirm"): "confirmed",
    ("held", "release"): "released",
    ("held", "expire"): "expired",
    ("held", "cancel"): "cancelled",
    ("confirmed", "cancel"): "cancelled",
    ("expired", "retake"): "confirmed",
    ("released", "retake"): "confirmed",
}


RESERVATIONS: StateMachine[State, Action] = StateMachine(
    TRANSITIONS, refusal="cannot {event} a reservation that is {state}"
)
# The state after an action, or `Conflict` naming the state when the edge does not exist.
transition = RESERVATIONS.step


@dataclass(frozen=True, kw_only=True)
class Resource:
    id: uuid.UUID
    unit_id: uuid.UUID
    name: dict[str, str]
    unit_name: dict[str, str]
    kind: str
    capacity: int = 1
    min_minutes: int = 30
    max_minutes: int = 240
    slot_minutes: int = 60
    align_minutes: int = 30
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 0
    max_days_ahead: int = 90
    needs_approval: bool = False
    who_may_book: str = "public"
    merchant_id: str
    cost_centre: str = ""
    allows_multi_day: bool = False
    free_cancel_hours: int = 24
    late_refund_percent: int = 0
    tz: str = "Europe/Helsinki"
    municipality: str = "853"
    active: bool = True
    max_open_holds_per_customer: int | None = None  # None: the service's default

    @property
    def exclusive(self) -> bool:
        return self.capacity == 1


@dataclass(frozen=True, kw_only=True)
class WeeklyHours:
    weekday: int  # 0 = Monday
    opens: time
    closes: time  # time(0) = midnight at the end of the day
    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class DayException:
    opens: time | None  # None: closed all day
    closes: time | None
    reason: str = ""


@dataclass(kw_only=True)
class Reservation:
    id: uuid.UUID
    resource_id: uuid.UUID
    unit_id: uuid.UUID
    customer: str
    state: State
    starts_at: datetime
    ends_at: datetime
    places: int = 1
    expires_at: datetime | None = None
    gross_cents: int = 0
    net_cents: int = 0
    vat_cents: int = 0
    vat_rate_bp: int = 0
    merchant_id: str = ""
    cost_centre: str = ""
    series_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    reason: str | None = None
    sequence: int = 0
    customer_group: str = ""
    organisation_id: uuid.UUID | None = None  # booked for an organisation (payment's)
    no_show: bool = False
    kept_cents: int = 0  # a season occurrence cancelled late: what the policy keeps (billed)
    approved_at: datetime | None = None  # staff approved the request (then held to be paid)
    created_at: datetime | None = None
    events: list[str] = field(default_factory=list)
