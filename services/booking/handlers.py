"""NATS operations `booking.v1.*`: thin adapters from request structs to the use cases."""

from __future__ import annotations

from typing import Any

from services.booking.approvals import Approvals
from services.booking.availability import Availability
from services.booking.calendar import Calendars
from services.booking.closures import Closures
from services.booking.quotes import Quotes
from services.booking.resource_settings import ResourceSettings
from services.booking.series import Series
from services.booking.service import Bookings
from services.booking.staff import Staff
from shared.contracts import booking as c
from shared.messaging import Operation


def operations(bookings: Bookings, availability: Availability) -> list[Operation[Any]]:
    series = Series(bookings)
    approvals = Approvals(bookings)
    calendars = Calendars(bookings)
    staff = Staff(bookings.pool, bookings.catalogue)
    closures = Closures(bookings.pool, bookings.catalogue)
    settings = ResourceSettings(bookings.pool, bookings.catalogue)
    return [
        Operation("hold", c.HoldRequest, bookings.hold),
        Operation("quote", c.QuoteRequest, Quotes(bookings).quote),
        Operation("get", c.ReservationRef, bookings.get, read_only=True),
        Operation("my_reservations", c.MyReservationsRequest, bookings.mine, read_only=True),
        Operation("reservation_for_cart", c.ReservationForCartRequest, bookings.for_cart),
        Operation("extend_holds", c.ExtendHoldsRequest, bookings.extend),
        Operation("shorten_holds", c.ShortenHoldsRequest, bookings.shorten),
        Operation("release", c.ReservationRef, bookings.release),
        Operation("confirm", c.ReservationRef, bookings.confirm),
        Operation("cancel", c.CancelRequest, bookings.cancel),
        Operation("approve", c.ReservationRef, approvals.approve),
        Operation("deny", c.DenyRequest, approvals.deny),
        Operation("availability", c.AvailabilityRequest, availability.slots, read_only=True),
        Operation("search", c.SearchRequest, availability.search, read_only=True),
        Operation("hold_series", c.SeriesRequest, series.hold),
        Operation("cancel_series", c.CancelSeriesRequest, series.cancel),
        Operation("calendar_token_create", c.CalendarTokenRequest, calendars.create_token),
        Operation("calendar_token_revoke", c.CalendarTokenRequest, calendars.revoke_token),
        Operation("calendar_feed", c.CalendarFeedRequest, calendars.feed),
        Operation("reservation_ics", c.ReservationIcsRequest, calendars.one),
        Operation("busy_feed", c.BusyFeedRequest, calendars.busy),
        Operation("upsert_unit", c.UnitUpsert, staff.upsert_unit),
        Operation("list_units", c.ListUnitsRequest, staff.list_units),
        Operation("upsert_resource", c.ResourceUpsert, staff.upsert_resource),
        Operation("create_resource", c.ResourceUpsert, staff.upsert_resource),
        Operation("update_resource", c.ResourceUpsert, staff.upsert_resource),
        Operation("list_resources", c.ListResourcesRequest, staff.list_resources),
        Operation("pending_approvals", c.PendingApprovalsRequest, staff.pending_approvals),
        Operation("list_closures", c.ListClosuresRequest, closures.list_closures),
        Operation("remove_closure", c.RemoveClosureRequest, closures.remove_closure),
        Operation("set_hours", c.SetHoursRequest, staff.set_hours),
        Operation("get_resource", c.ResourceRef, settings.get_resource),
        Operation("set_prices", c.SetPricesRequest, settings.set_prices),
        Operation("add_closure", c.ClosureRequest, closures.add_closure),
        Operation("day_view", c.DayViewRequest, staff.day_view),
    ]
