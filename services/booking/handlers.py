"""NATS operations `booking.v1.*`: thin adapters from request structs to the use cases.

`CONTRACT` is what each operation takes and replies; `operations()` binds the use cases to it,
checking their annotations at start-up (shared/operations.py)."""

from __future__ import annotations

from typing import Any

from services.booking import personal_data
from services.booking.approvals import Approvals
from services.booking.availability import Availability
from services.booking.calendar import Calendars
from services.booking.closures import Closures
from services.booking.desk import Desk
from services.booking.quotes import Quotes
from services.booking.resource_settings import ResourceSettings
from services.booking.seasons import Seasons
from services.booking.series import Series
from services.booking.service import Bookings
from services.booking.staff import Staff
from services.booking.waitlist import Waitlist
from shared.contracts import audit as a
from shared.contracts import booking as c
from shared.contracts import desk as d
from shared.contracts import season as s
from shared.messaging import Operation, Requester
from shared.operations import ServiceContract

CONTRACT = ServiceContract(
    "booking",
    {
        "hold": (c.HoldRequest, c.HoldReply),
        "quote": (c.QuoteRequest, c.QuoteReply),
        "get": (c.ReservationRef, c.ReservationView),
        "my_reservations": (c.MyReservationsRequest, c.ReservationList),
        "reservation_for_cart": (c.ReservationForCartRequest, c.ReservationForCart),
        "extend_holds": (c.ExtendHoldsRequest, c.ExtendHoldsReply),
        "shorten_holds": (c.ShortenHoldsRequest, c.ExtendHoldsReply),
        "release": (c.ReservationRef, c.ReservationView),
        "confirm": (c.ReservationRef, c.ReservationView),
        "cancel": (c.CancelRequest, c.CancelReply),
        "cancel_quote": (c.ReservationRef, c.CancelQuote),
        "approve": (c.ReservationRef, c.ReservationView),
        "deny": (c.DenyRequest, c.ReservationView),
        "availability": (c.AvailabilityRequest, c.Availability),
        "search": (c.SearchRequest, c.SearchReply),
        "hold_series": (c.SeriesRequest, c.SeriesReply),
        "cancel_series": (c.CancelSeriesRequest, c.CancelSeriesReply),
        "calendar_token_create": (c.CalendarTokenRequest, c.CalendarToken),
        "calendar_token_revoke": (c.CalendarTokenRequest, c.CalendarToken),
        "calendar_feed": (c.CalendarFeedRequest, c.CalendarText),
        "reservation_ics": (c.ReservationIcsRequest, c.CalendarText),
        "busy_feed": (c.BusyFeedRequest, c.CalendarText),
        "upsert_unit": (c.UnitUpsert, c.UnitView),
        "list_units": (c.ListUnitsRequest, c.UnitList),
        "upsert_resource": (c.ResourceUpsert, c.ResourceSummary),
        "create_resource": (c.ResourceUpsert, c.ResourceSummary),
        "update_resource": (c.ResourceUpsert, c.ResourceSummary),
        "list_resources": (c.ListResourcesRequest, c.ResourceList),
        "pending_approvals": (c.PendingApprovalsRequest, c.ReservationList),
        "list_closures": (c.ListClosuresRequest, c.ClosureList),
        "remove_closure": (c.RemoveClosureRequest, c.Done),
        "set_hours": (c.SetHoursRequest, c.Done),
        "get_resource": (c.ResourceRef, c.ResourceSettings),
        "set_prices": (c.SetPricesRequest, c.Done),
        "add_closure": (c.ClosureRequest, c.ClosureReply),
        "day_view": (c.DayViewRequest, c.DayView),
        "mark_no_show": (c.NoShowRequest, c.ReservationView),
        "join_waitlist": (c.JoinWaitlistRequest, c.WaitlistEntryView),
        "leave_waitlist": (c.WaitlistRef, c.WaitlistEntryView),
        "decline_offer": (c.WaitlistRef, c.WaitlistEntryView),
        "my_waitlist": (c.MyWaitlistRequest, c.WaitlistList),
        # the service desk (issue 19); desk_search is internal: cart combines it with its own
        "desk_hold": (d.DeskHoldRequest, c.HoldReply),
        "desk_cancel": (d.DeskCancelRequest, c.CancelReply),
        "desk_search": (d.DeskSearchRequest, d.DeskSearchReply),
        # seasonal fixed slots (issue 19); season_month is what payment invoices
        "apply_season": (s.ApplySeasonRequest, s.SeasonView),
        "get_season": (s.SeasonRef, s.SeasonView),
        "list_seasons": (s.ListSeasonsRequest, s.SeasonList),
        "approve_season": (s.SeasonRef, s.SeasonView),
        "deny_season": (s.DenySeasonRequest, s.SeasonView),
        "season_month": (s.SeasonMonthRequest, s.SeasonMonth),
        "approved_seasons": (s.ApprovedSeasonsRequest, s.ApprovedSeasons),  # internal
        # residents' data rights (GDPR): internal, the audit service's only
        "personal_data": (a.PersonalDataRequest, a.PersonalData),
        "erase_personal_data": (a.ErasePersonalDataRequest, a.ErasedCounts),
        "stale_customers": (a.StalePersonalDataRequest, a.StaleCustomers),
    },
)

# Operations that change nothing: a database connection lost under one is tried once more.
READS = frozenset(
    {
        "get",
        "my_reservations",
        "availability",
        "search",
        "cancel_quote",
        "my_waitlist",
        "desk_search",
    }
)
# Operations that only show data (the audit trail records a staff member's call as a view).
VIEWS = frozenset(
    {
        "quote",
        "list_units",
        "list_resources",
        "pending_approvals",
        "list_closures",
        "get_resource",
        "day_view",
        "calendar_feed",
        "reservation_ics",
        "busy_feed",
        "personal_data",
        "stale_customers",
        "desk_search",
        "get_season",
        "list_seasons",
        "season_month",
        "approved_seasons",
    }
)


def operations(
    bookings: Bookings, availability: Availability, requester: Requester | None = None
) -> list[Operation[Any]]:
    seasons = Seasons(bookings, requester)
    series = Series(bookings)
    approvals = Approvals(bookings)
    calendars = Calendars(bookings)
    staff = Staff(bookings.pool, bookings.catalogue)
    closures = Closures(bookings.pool, bookings.catalogue, lambda: bookings.now())
    settings = ResourceSettings(bookings.pool, bookings.catalogue)
    personal = personal_data.operations(bookings.pool)
    waitlist = Waitlist(bookings)
    desk = Desk(bookings)
    return CONTRACT.bind(
        {
            "hold": bookings.hold,
            "quote": Quotes(bookings).quote,
            "get": bookings.get,
            "my_reservations": bookings.mine,
            "reservation_for_cart": bookings.for_cart,
            "extend_holds": bookings.extend,
            "shorten_holds": bookings.shorten,
            "release": bookings.release,
            "confirm": bookings.confirm,
            "cancel": bookings.cancel,
            "cancel_quote": bookings.cancel_quote,
            "approve": approvals.approve,
            "deny": approvals.deny,
            "availability": availability.slots,
            "search": availability.search,
            "hold_series": series.hold,
            "cancel_series": series.cancel,
            "calendar_token_create": calendars.create_token,
            "calendar_token_revoke": calendars.revoke_token,
            "calendar_feed": calendars.feed,
            "reservation_ics": calendars.one,
            "busy_feed": calendars.busy,
            "upsert_unit": staff.upsert_unit,
            "list_units": staff.list_units,
            "upsert_resource": staff.upsert_resource,
            "create_resource": staff.upsert_resource,
            "update_resource": staff.upsert_resource,
            "list_resources": staff.list_resources,
            "pending_approvals": staff.pending_approvals,
            "list_closures": closures.list_closures,
            "remove_closure": closures.remove_closure,
            "set_hours": staff.set_hours,
            "get_resource": settings.get_resource,
            "set_prices": settings.set_prices,
            "add_closure": closures.add_closure,
            "day_view": staff.day_view,
            "mark_no_show": approvals.mark_no_show,
            "join_waitlist": waitlist.join,
            "leave_waitlist": waitlist.leave,
            "decline_offer": waitlist.decline,
            "my_waitlist": waitlist.mine,
            "desk_hold": desk.hold,
            "desk_cancel": desk.cancel,
            "desk_search": desk.search,
            "apply_season": seasons.apply,
            "get_season": seasons.get,
            "list_seasons": seasons.list_seasons,
            "approve_season": seasons.approve,
            "deny_season": seasons.deny,
            "season_month": seasons.month,
            "approved_seasons": seasons.approved,
            "personal_data": personal.personal_data,
            "erase_personal_data": personal.erase_personal_data,
            "stale_customers": personal.stale_customers,
        },
        reads=READS,
    )
