"""Contracts of the booking service: `booking.v1.*` requests and `evt.booking.*` events.

The cross-service part (what cart needs, the reservation events) is fixed here; the booking
service adds the rest of its operations below it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, ClassVar, Literal

import msgspec

from shared.contracts.accounting import OptionalCostCentre
from shared.contracts.common import Event, register

SERVICE = "booking"

# Pages of lists: decoding refuses a bad page as validation_failed naming the field.
Limit = Annotated[int, msgspec.Meta(ge=1, le=200)]
Offset = Annotated[int, msgspec.Meta(ge=0)]
# list_resources still allows 500: the clerk pages ask for up to 500 resources at once.
ResourceLimit = Annotated[int, msgspec.Meta(ge=1, le=500)]

ReservationState = Literal[
    "requested", "held", "confirmed", "cancelled", "expired", "denied", "released"
]


class LocalizedText(msgspec.Struct, frozen=True, kw_only=True):
    fi: str
    sv: str | None = None
    en: str | None = None


# --- cart -> booking -----------------------------------------------------------------------


class ReservationForCartRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.reservation_for_cart`: price and owner of a held reservation (the acting
    principal must own it)."""

    reservation_id: uuid.UUID


class ReservationForCart(msgspec.Struct, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    customer: str  # the principal subject who holds it
    state: ReservationState
    resource_id: uuid.UUID
    resource_name: LocalizedText
    unit_name: LocalizedText
    starts_at: datetime
    ends_at: datetime
    places: int
    expires_at: datetime | None
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    merchant_id: str
    cost_centre: str
    organisation_id: uuid.UUID | None = None  # booked and priced for this organisation


class ExtendHoldsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.extend_holds`: at checkout, keep the holds until `until` (payment window)."""

    reservation_ids: list[uuid.UUID]
    until: datetime
    order_id: uuid.UUID


class ExtendedHold(msgspec.Struct, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    expires_at: datetime


class ExtendHoldsReply(msgspec.Struct, frozen=True, kw_only=True):
    holds: list[ExtendedHold]


class ShortenHoldsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.shorten_holds`: cart's compensation when the order it extended holds for
    could not be written: each hold still extended for `order_id` goes back to its
    `expires_at` here (never later than it is) and no longer names the order."""

    order_id: uuid.UUID
    holds: list[ExtendedHold]


# --- events ---------------------------------------------------------------------------------


class ReservationEvent(Event, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    resource_id: uuid.UUID
    unit_id: uuid.UUID
    customer: str
    state: ReservationState
    starts_at: datetime
    ends_at: datetime
    places: int = 1
    merchant_id: str = ""
    series_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    reason: str | None = None
    # Added for the city's utilisation figures (insights); absent in older events:
    customer_group: str | None = None  # the group the reservation was priced for
    gross_cents: int = 0  # its price (VAT included)
    sequence: int = 0  # the reservation's change counter: a later change has a higher one
    no_show: bool = False  # staff marked that nobody came


class ReservationHeld(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.held"


class ReservationRequested(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.requested"


class ReservationApproved(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.approved"


class ReservationDenied(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.denied"


class ReservationConfirmed(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.confirmed"


class ReservationCancelled(ReservationEvent, frozen=True, kw_only=True):
    """`refund_cents`: what the cancellation policy gives back (cart asks payment for it)."""

    subject: ClassVar[str] = "evt.booking.reservation.cancelled"
    refund_cents: int = 0
    cancelled_by: Literal["customer", "staff", "system"] = "customer"


class ReservationExpired(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.expired"


class ReservationConfirmFailed(ReservationEvent, frozen=True, kw_only=True):
    """A paid reservation could not be confirmed (hold expired and slot taken): refund it."""

    subject: ClassVar[str] = "evt.booking.reservation.confirm_failed"


class ReservationNoShow(ReservationEvent, frozen=True, kw_only=True):
    """Staff marked a confirmed reservation as a no-show (`no_show` False: the mark undone)."""

    subject: ClassVar[str] = "evt.booking.reservation.no_show"


class ReservationAnnounced(ReservationEvent, frozen=True, kw_only=True):
    """A reservation as it is now, sent again for services that start listening late
    (`python -m services.booking.announce`); nothing changed. Only insights listens."""

    subject: ClassVar[str] = "evt.booking.reservation.announced"


class UnitSaved(Event, frozen=True, kw_only=True):
    """A unit was created or changed (its name, department and time zone)."""

    subject: ClassVar[str] = "evt.booking.unit.saved"
    unit_id: uuid.UUID
    name: LocalizedText
    merchant_id: str
    tz: str


class ResourceSaved(Event, frozen=True, kw_only=True):
    """A resource was created or changed (what the figures need of it)."""

    subject: ClassVar[str] = "evt.booking.resource.saved"
    resource_id: uuid.UUID
    unit_id: uuid.UUID
    name: LocalizedText
    merchant_id: str
    capacity: int = 1
    active: bool = True


class HoursRow(msgspec.Struct, frozen=True, kw_only=True):
    weekday: int  # 0 = Monday
    opens: time
    closes: time  # 00:00 = midnight at the end of the day


class HoursSet(Event, frozen=True, kw_only=True):
    """`booking.v1.set_hours` replaced the weekly hours of a unit (or of one of its resources,
    `resource_id`) from `valid_from`: patterns starting then or later are gone, older ones end
    the day before."""

    subject: ClassVar[str] = "evt.booking.hours.set"
    unit_id: uuid.UUID
    resource_id: uuid.UUID | None = None
    hours: list[HoursRow]
    valid_from: date
    valid_until: date | None = None


class ClosureAdded(Event, frozen=True, kw_only=True):
    """A unit (or one resource) closed from `first` to `last`, or open only `opens`..`closes`
    on those days (the day's weekly hours do not apply then)."""

    subject: ClassVar[str] = "evt.booking.closure.added"
    closure_id: uuid.UUID
    unit_id: uuid.UUID
    resource_id: uuid.UUID | None = None
    first: date
    last: date
    opens: time | None = None
    closes: time | None = None


class ClosureRemoved(Event, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.closure.removed"
    closure_id: uuid.UUID


class WaitlistOffered(Event, frozen=True, kw_only=True):
    """A freed time was offered to the first one waiting for it: `reservation_id` is a hold
    of it in their name until `expires_at` (notify e-mails them a link to pay for it)."""

    subject: ClassVar[str] = "evt.booking.waitlist.offered"
    entry_id: uuid.UUID
    reservation_id: uuid.UUID
    resource_id: uuid.UUID
    unit_id: uuid.UUID
    customer: str
    starts_at: datetime
    ends_at: datetime
    places: int = 1
    merchant_id: str = ""
    expires_at: datetime
    gross_cents: int = 0


register(
    WaitlistOffered,
    ReservationAnnounced,
    ClosureAdded,
    ClosureRemoved,
    ReservationNoShow,
    UnitSaved,
    ResourceSaved,
    HoursSet,
    ReservationHeld,
    ReservationRequested,
    ReservationApproved,
    ReservationDenied,
    ReservationConfirmed,
    ReservationCancelled,
    ReservationExpired,
    ReservationConfirmFailed,
)


# --- the booking service's own operations (gateway -> booking) -------------------------------

ResourceKind = Literal["space", "equipment", "appointment"]
WhoMayBook = Literal["public", "residents", "staff"]


class ReservationContact(msgspec.Struct, frozen=True, kw_only=True):
    """Who to contact about a reservation and what it is for (shown to its customer and to
    staff of its department; never in events)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    email: Annotated[
        str, msgspec.Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ] = ""
    phone: Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[0-9+() -]*$")] = ""
    purpose: Annotated[str, msgspec.Meta(max_length=500)] = ""


class ReservationView(msgspec.Struct, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    resource_id: uuid.UUID
    unit_id: uuid.UUID
    customer: str
    state: ReservationState
    starts_at: datetime
    ends_at: datetime
    places: int
    expires_at: datetime | None
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    merchant_id: str
    series_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    reason: str | None = None
    no_show: bool = False  # staff marked that nobody came
    contact: ReservationContact | None = None  # staff's views (approvals, the day)
    organisation_id: uuid.UUID | None = None  # booked (and priced) for this organisation


class ReservationList(msgspec.Struct, frozen=True, kw_only=True):
    reservations: list[ReservationView]


class ReservationRef(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.get`, `booking.v1.release`, `booking.v1.confirm`, `booking.v1.approve`:
    one reservation by id."""

    reservation_id: uuid.UUID
    idempotency_key: str | None = None


class HoldItem(msgspec.Struct, frozen=True, kw_only=True):
    resource_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    places: int = 1


class HoldRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.hold`: hold one or several resources all-or-nothing (a hall and its sound
    system). Resources that need approval give `requested` reservations instead."""

    items: list[HoldItem]
    idempotency_key: str | None = None
    contact: ReservationContact | None = None  # kept with each reservation held
    # Book for this organisation (payment's; the caller must be one of its contact persons,
    # else `forbidden` naming the field): priced by its customer group, may be invoiced to it.
    organisation_id: uuid.UUID | None = None


class HoldReply(msgspec.Struct, frozen=True, kw_only=True):
    reservations: list[ReservationView]


CustomerGroup = Literal["resident", "other", "association", "business"]


class QuoteRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.quote`: the price of booking a resource for a time and places, without
    holding anything. The customer group is the principal's (by the home-municipality claim
    and scopes) unless one is given (prices are public)."""

    resource_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    places: int = 1
    customer_group: CustomerGroup | None = None


class QuoteReply(msgspec.Struct, frozen=True, kw_only=True):
    resource_id: uuid.UUID
    customer_group: CustomerGroup
    gross_cents: int  # VAT included
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    # What happens next, told before booking: how long a hold lasts, how long an approved
    # request waits for its payment.
    hold_minutes: int = 0
    approved_payment_hours: int = 0


class CancelRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.cancel`: the customer within the policy, staff always (with a reason)."""

    reservation_id: uuid.UUID
    reason: str | None = None
    idempotency_key: str | None = None


class CancelReply(msgspec.Struct, frozen=True, kw_only=True):
    reservation: ReservationView
    refund_cents: int


class CancelQuote(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.cancel_quote`: what cancelling now would give back, shown before the
    customer confirms (the same policy `cancel` applies; nothing changes)."""

    reservation: ReservationView
    can_cancel: bool  # False once it has started (or is no longer active)
    paid_cents: int
    refund_cents: int
    free_cancel_hours: int
    late_refund_percent: int


class DenyRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.deny`: staff deny a requested reservation with a reason."""

    reservation_id: uuid.UUID
    reason: Annotated[str, msgspec.Meta(max_length=500)]  # the customer is told it
    idempotency_key: str | None = None


class MyReservationsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.my_reservations`: the signed-in resident's reservations, newest first."""

    limit: Limit = 100
    offset: Offset = 0


class AvailabilityRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.availability`: free slots of one resource from `first` to `last` (local
    dates, at most 62 days)."""

    resource_id: uuid.UUID
    first: date
    last: date
    places: int = 1
    include_unavailable: bool = False  # taken and past slots too, each with its `state`


class Slot(msgspec.Struct, frozen=True, kw_only=True):
    starts_at: datetime
    ends_at: datetime
    free_places: int
    gross_cents: int | None = None  # the caller's price for the slot (availability only)
    state: Literal["free", "taken", "past"] = "free"


class Availability(msgspec.Struct, frozen=True, kw_only=True):
    resource_id: uuid.UUID
    slots: list[Slot]


class SearchRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.search`: where and when something is free in a time window."""

    starts_after: datetime
    ends_before: datetime
    kind: ResourceKind | None = None
    unit_id: uuid.UUID | None = None
    merchant_id: str | None = None
    places: int = 1


class ResourceSummary(msgspec.Struct, frozen=True, kw_only=True):
    resource_id: uuid.UUID
    unit_id: uuid.UUID
    name: LocalizedText
    unit_name: LocalizedText
    kind: ResourceKind
    capacity: int
    merchant_id: str
    needs_approval: bool
    active: bool = True
    # The booking rules a resident sees before booking (durations offered, the policy).
    min_minutes: int = 0
    max_minutes: int = 0
    slot_minutes: int = 0
    free_cancel_hours: int = 0
    late_refund_percent: int = 0


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    resource: ResourceSummary
    slots: list[Slot]


class SearchReply(msgspec.Struct, frozen=True, kw_only=True):
    hits: list[SearchHit]


class SeriesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.hold_series`: a weekly series (RRULE, e.g. "FREQ=WEEKLY;COUNT=10") from the
    first occurrence. With `book_free=False` it holds all or nothing and lists the conflicts;
    with `book_free=True` it holds the free occurrences and lists the others."""

    resource_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    rrule: str
    places: int = 1
    book_free: bool = False
    idempotency_key: str | None = None
    contact: ReservationContact | None = None  # kept with each occurrence held
    # Book the series for this organisation, as `booking.v1.hold` (its contact persons only,
    # else `forbidden` naming the field): each occurrence priced by its customer group.
    organisation_id: uuid.UUID | None = None


class SeriesReply(msgspec.Struct, frozen=True, kw_only=True):
    series_id: uuid.UUID | None
    reservations: list[ReservationView]
    conflicts: list[datetime]  # starts of occurrences that cannot be held


class CancelSeriesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.cancel_series`: cancel the occurrences of a series starting at or after
    `from_starts_at` (all upcoming when None)."""

    series_id: uuid.UUID
    from_starts_at: datetime | None = None
    reason: str | None = None
    idempotency_key: str | None = None


class CancelSeriesReply(msgspec.Struct, frozen=True, kw_only=True):
    cancelled: list[ReservationView]
    refund_cents: int


class CalendarTokenRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.calendar_token_create` / `booking.v1.calendar_token_revoke`: the signed-in
    resident's private feed token (creating replaces the old one; the token is shown once)."""

    idempotency_key: str | None = None


class CalendarToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str | None  # None after revoking


class CalendarFeedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.calendar_feed`: a resident's private feed by its secret token (no sign-in)."""

    token: str


class ReservationIcsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.reservation_ics`: one reservation as .ics (owner or staff)."""

    reservation_id: uuid.UUID


class BusyFeedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.busy_feed`: a resource's busy times (public, no personal data), from
    `first` to `last` (default: 7 days back to 90 ahead)."""

    resource_id: uuid.UUID
    first: date | None = None
    last: date | None = None


class CalendarText(msgspec.Struct, frozen=True, kw_only=True):
    """An iCalendar document; serve `text` as `content_type`."""

    text: str
    content_type: str = "text/calendar; charset=utf-8"
    filename: str = "calendar.ics"


# --- staff: units, resources, hours, prices, policies, closures, day view --------------------


class UnitUpsert(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.upsert_unit`: create (no `unit_id`) or update a unit (staff of
    `merchant_id`)."""

    unit_id: uuid.UUID | None = None
    name: LocalizedText
    address: str = ""
    tz: str = "Europe/Helsinki"
    # Statistics Finland's three-digit municipality code (853 Turku): prices by residence
    municipality: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{3}$")] = "853"
    merchant_id: str
    idempotency_key: str | None = None


class UnitView(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    name: LocalizedText
    address: str
    tz: str
    municipality: str
    merchant_id: str


class ListUnitsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.list_units`: the units (places), public, by name; of one department with
    `merchant_id`."""

    merchant_id: str | None = None
    limit: ResourceLimit = 100
    offset: Offset = 0


class UnitList(msgspec.Struct, frozen=True, kw_only=True):
    units: list[UnitView]


class ResourceUpsert(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.upsert_resource` (also `booking.v1.create_resource` and
    `booking.v1.update_resource`): create or update a resource with its booking rules and
    cancellation policy (free until `free_cancel_hours` before, then `late_refund_percent`,
    nothing after the start). Its merchant is the unit's."""

    resource_id: uuid.UUID | None = None
    unit_id: uuid.UUID
    name: LocalizedText
    kind: ResourceKind
    capacity: int = 1
    min_minutes: int = 60
    max_minutes: int = 180
    slot_minutes: int = 60
    align_minutes: int = 60
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 0
    max_days_ahead: int = 90
    needs_approval: bool = False
    who_may_book: WhoMayBook = "public"
    cost_centre: OptionalCostCentre = ""
    allows_multi_day: bool = False
    free_cancel_hours: int = 24
    late_refund_percent: int = 0
    active: bool = True
    # Open holds (held, or requested and waiting) one customer may have on this resource at
    # once; None: the booking service's default (BOOKING_MAX_OPEN_HOLDS_PER_RESOURCE, 10).
    max_open_holds_per_customer: int | None = None
    idempotency_key: str | None = None


class WeeklyHoursIn(msgspec.Struct, frozen=True, kw_only=True):
    weekday: int  # 0 = Monday
    opens: time
    closes: time  # 00:00 = midnight at the end of the day


class SetHoursRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.set_hours`: replace the weekly hours of a unit (or of one of its resources)
    valid from `valid_from` (older patterns end the day before)."""

    unit_id: uuid.UUID
    resource_id: uuid.UUID | None = None
    hours: list[WeeklyHoursIn]
    valid_from: date
    valid_until: date | None = None
    idempotency_key: str | None = None


class PriceRuleIn(msgspec.Struct, frozen=True, kw_only=True):
    customer_group: CustomerGroup
    weekdays: list[int] = msgspec.field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])
    from_time: time = time(0)
    to_time: time = time(0)  # 00:00 = end of day
    unit: Literal["hour", "booking", "free"]
    amount_cents: int = 0
    vat_rate_bp: int
    valid_from: date = date(2000, 1, 1)
    valid_until: date | None = None
    per_place: bool = False  # multiply by the places booked (per swimmer, per seat)


class SetPricesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.set_prices`: replace a resource's price rules in force today or later
    (rules that ended before today stay as history). With `expected_version` (the
    `prices_version` of `booking.v1.get_resource`) the change is refused as a conflict when
    someone else changed the rules since they were read."""

    resource_id: uuid.UUID
    rules: list[PriceRuleIn]
    expected_version: str | None = None
    idempotency_key: str | None = None


class ResourceRef(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.get_resource`: a resource's full settings, its current and future price
    rules and the weekly hours valid today or later (staff of its department, or admin)."""

    resource_id: uuid.UUID


class WeeklyHoursView(msgspec.Struct, frozen=True, kw_only=True):
    """A row of weekly hours: the resource's own (`scope="resource"`), or its unit's, which
    apply on the dates the resource has no own pattern."""

    weekday: int  # 0 = Monday
    opens: time
    closes: time  # 00:00 = midnight at the end of the day
    valid_from: date
    valid_until: date | None
    scope: Literal["resource", "unit"]


class ResourceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What `booking.v1.get_resource` gives: `settings` is the resource as a ready
    `ResourceUpsert` (send it back with changes to `booking.v1.update_resource`)."""

    settings: ResourceUpsert
    unit_name: LocalizedText
    merchant_id: str
    tz: str
    prices: list[PriceRuleIn]  # in force today or later, by customer group and start
    prices_version: str
    hours: list[WeeklyHoursView]  # valid today or later, by weekday


class Done(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool = True


class NoShowRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.mark_no_show`: staff of the reservation's department mark that nobody came
    to a confirmed reservation that has started (`no_show` False undoes the mark)."""

    reservation_id: uuid.UUID
    no_show: bool = True
    idempotency_key: str | None = None


class ClosureRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.add_closure`: close a unit (or one resource) from `first` to `last`, or
    shorten its hours on those days (`opens`/`closes`); the reply lists the reservations hit."""

    unit_id: uuid.UUID
    resource_id: uuid.UUID | None = None
    first: date
    last: date
    opens: time | None = None
    closes: time | None = None
    reason: str
    idempotency_key: str | None = None


class ClosureReply(msgspec.Struct, frozen=True, kw_only=True):
    closure_id: uuid.UUID | None = None
    hit: list[ReservationView]


class ListClosuresRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.list_closures`: closures of the staff member's departments (optionally of
    one unit) that end on or after `since` (default today)."""

    unit_id: uuid.UUID | None = None
    since: date | None = None


class ClosureView(msgspec.Struct, frozen=True, kw_only=True):
    closure_id: uuid.UUID
    unit_id: uuid.UUID
    resource_id: uuid.UUID | None
    first: date
    last: date
    opens: time | None
    closes: time | None
    reason: str


class ClosureList(msgspec.Struct, frozen=True, kw_only=True):
    closures: list[ClosureView]


class RemoveClosureRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.remove_closure`: reopen what a closure closed."""

    closure_id: uuid.UUID
    idempotency_key: str | None = None


class ListResourcesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.list_resources`: active resources (public), filtered; staff may ask for
    their department's deactivated ones too."""

    unit_id: uuid.UUID | None = None
    kind: ResourceKind | None = None
    merchant_id: str | None = None
    include_inactive: bool = False  # staff of `merchant_id` (admins: of any) also see these
    limit: ResourceLimit = 100
    offset: Offset = 0


class ResourceList(msgspec.Struct, frozen=True, kw_only=True):
    resources: list[ResourceSummary]


class PendingApprovalsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.pending_approvals`: requested reservations waiting for the staff member's
    departments, oldest first."""

    limit: Limit = 100
    offset: Offset = 0


class DayViewRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.day_view`: staff's view of one unit's day (all resources, reservations)."""

    unit_id: uuid.UUID
    day: date


class ResourceDay(msgspec.Struct, frozen=True, kw_only=True):
    resource: ResourceSummary
    reservations: list[ReservationView]


class DayView(msgspec.Struct, frozen=True, kw_only=True):
    unit: UnitView
    day: date
    resources: list[ResourceDay]


# --- the waiting list (issue 18) --------------------------------------------------------------

WaitlistState = Literal["waiting", "offered", "accepted", "declined", "lapsed", "left", "void"]


class JoinWaitlistRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.join_waitlist`: queue for a time of a resource that is taken now; when it
    frees, the first one waiting is offered a hold of it."""

    resource_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    places: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    idempotency_key: str | None = None


class WaitlistRef(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.leave_waitlist`, `booking.v1.decline_offer`: one of the caller's entries."""

    entry_id: uuid.UUID
    idempotency_key: str | None = None


class MyWaitlistRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.my_waitlist`: the signed-in resident's entries, newest first."""

    limit: Limit = 100
    offset: Offset = 0


class WaitlistEntryView(msgspec.Struct, frozen=True, kw_only=True):
    entry_id: uuid.UUID
    resource_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    places: int
    state: WaitlistState
    position: int | None = None  # 1 = next to be offered (waiting entries only)
    reservation_id: uuid.UUID | None = None  # the hold offered
    offer_expires_at: datetime | None = None
    reason: str | None = None
    created_at: datetime


class WaitlistList(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[WaitlistEntryView]
