"""`/api/v1` routes of the booking service: resources, availability, search, holds,
reservations, approvals and series. Object-level rules (own reservations, own department's
resources) are enforced by booking on the principal the gateway passes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response, Router
from litestar.types import ControllerRouterHandler

from services.gateway.routes.operation import OperationRoute
from services.gateway.routes.replies import absolute_url, text_media_type
from services.gateway.routes.who import ANYONE, RESIDENT, SIGNED_IN, STAFF, Who
from shared.contracts import booking as c
from shared.contracts import season as s

BOOKERS = Who(roles=("resident", "staff", "admin"))
R = "/reservations/{reservation_id:uuid}"
W = "/waitlist/{entry_id:uuid}"
S = "/seasons/{season_id:uuid}"
# A status beyond every route's (OpenAPI): a hold or a request that ran out of time is 410.
EXPIRED = (410,)
# Prices are public; a signed-in caller's own customer group applies unless one is asked for.
QUOTE = "The price of a booking (gross, net, VAT) without holding anything"


def calendar_response(reply: c.CalendarText, _: Request[Any, Any, Any]) -> Response[str]:
    """A `CalendarText` reply served as the iCalendar document it carries."""
    return Response(
        reply.text,
        media_type=text_media_type(reply.content_type),
        headers={"Content-Disposition": f'inline; filename="{reply.filename}"'},
    )


class CalendarLink(msgspec.Struct, frozen=True, kw_only=True):
    """My calendar feed link: the secret `token` and the feed's absolute address to give a
    calendar application (none after revoking)."""

    token: str | None
    feed_url: str | None = None


def calendar_link(reply: c.CalendarToken, request: Request[Any, Any, Any]) -> CalendarLink:
    if reply.token is None:
        return CalendarLink(token=None)
    path = f"/api/v1/calendar/feeds/{quote(reply.token, safe='')}"
    return CalendarLink(token=reply.token, feed_url=absolute_url(request, path))


ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "GET",
        "/resources/{resource_id:uuid}/availability",
        "booking.v1.availability",
        c.AvailabilityRequest,
        c.Availability,
        ANYONE,
        "Free slots of one resource",
    ),
    OperationRoute(
        "GET",
        "/search",
        "booking.v1.search",
        c.SearchRequest,
        c.SearchReply,
        ANYONE,
        "Where and when something is free",
    ),
    OperationRoute(
        "POST",
        "/holds",
        "booking.v1.hold",
        c.HoldRequest,
        c.HoldReply,
        BOOKERS,
        "Hold one or several resources (15 minutes, priced)",
    ),
    OperationRoute(
        "GET",
        "/reservations",
        "booking.v1.my_reservations",
        c.MyReservationsRequest,
        c.ReservationList,
        RESIDENT,
        "My reservations",
    ),
    OperationRoute(
        "GET",
        R,
        "booking.v1.get",
        c.ReservationRef,
        c.ReservationView,
        SIGNED_IN,
        "One reservation (its customer, staff of its department, admin)",
    ),
    OperationRoute(
        "POST",
        f"{R}/release",
        "booking.v1.release",
        c.ReservationRef,
        c.ReservationView,
        BOOKERS,
        "Release a hold",
    ),
    OperationRoute(
        "POST",
        f"{R}/cancel",
        "booking.v1.cancel",
        c.CancelRequest,
        c.CancelReply,
        BOOKERS,
        "Cancel a reservation (refund by the cancellation policy)",
    ),
    OperationRoute(
        "GET",
        f"{R}/cancel-quote",
        "booking.v1.cancel_quote",
        c.ReservationRef,
        c.CancelQuote,
        BOOKERS,
        "What cancelling now would refund (the policy's answer; nothing changes)",
    ),
    OperationRoute(
        "POST",
        f"{R}/approve",
        "booking.v1.approve",
        c.ReservationRef,
        c.ReservationView,
        STAFF,
        "Approve a requested reservation",
        errors=EXPIRED,
    ),
    OperationRoute(
        "POST",
        f"{R}/no-show",
        "booking.v1.mark_no_show",
        c.NoShowRequest,
        c.ReservationView,
        STAFF,
        "Mark that nobody came to a confirmed reservation that has started (or undo the mark)",
        status_code=200,
    ),
    OperationRoute(
        "POST",
        f"{R}/deny",
        "booking.v1.deny",
        c.DenyRequest,
        c.ReservationView,
        STAFF,
        "Deny a requested reservation with a reason",
    ),
    OperationRoute(
        "POST",
        f"{R}/confirm",
        "booking.v1.confirm",
        c.ReservationRef,
        c.ReservationView,
        STAFF,
        "Confirm a reservation (free of charge)",
        errors=EXPIRED,
    ),
    OperationRoute(
        "POST",
        "/series",
        "booking.v1.hold_series",
        c.SeriesRequest,
        c.SeriesReply,
        BOOKERS,
        "Hold a recurring series",
    ),
    OperationRoute(
        "POST",
        "/series/{series_id:uuid}/cancel",
        "booking.v1.cancel_series",
        c.CancelSeriesRequest,
        c.CancelSeriesReply,
        BOOKERS,
        "Cancel the upcoming occurrences of a series",
    ),
    OperationRoute(
        "GET",
        "/resources",
        "booking.v1.list_resources",
        c.ListResourcesRequest,
        c.ResourceList,
        ANYONE,
        "Resources (filters, pages)",
        errors=(403,),  # inactive ones: their department's staff only
    ),
    OperationRoute(
        "GET",
        "/units",
        "booking.v1.list_units",
        c.ListUnitsRequest,
        c.UnitList,
        ANYONE,
        "Units (places) by name (filters, pages)",
    ),
    OperationRoute(
        "PUT",
        "/resources/{resource_id:uuid}",
        "booking.v1.update_resource",
        c.ResourceUpsert,
        c.ResourceSummary,
        STAFF,
        "Change a resource of one's department",
    ),
    OperationRoute(
        "POST",
        "/resources",
        "booking.v1.create_resource",
        c.ResourceUpsert,
        c.ResourceSummary,
        STAFF,
        "Create a resource in one's department",
    ),
    OperationRoute(
        "GET",
        "/staff/day",
        "booking.v1.day_view",
        c.DayViewRequest,
        c.DayView,
        STAFF,
        "The day's reservations of a unit",
    ),
    OperationRoute(
        "GET",
        "/staff/approvals",
        "booking.v1.pending_approvals",
        c.PendingApprovalsRequest,
        c.ReservationList,
        STAFF,
        "Requests waiting for approval in one's department",
    ),
    OperationRoute(
        "POST",
        "/units",
        "booking.v1.upsert_unit",
        c.UnitUpsert,
        c.UnitView,
        STAFF,
        "Create a unit of one's department (or update it: `unit_id` in the body)",
    ),
    OperationRoute(
        "PUT",
        "/units/{unit_id:uuid}/hours",
        "booking.v1.set_hours",
        c.SetHoursRequest,
        c.Done,
        STAFF,
        "Replace the weekly opening hours of a unit (or of one of its resources)",
    ),
    OperationRoute(
        "GET",
        "/resources/{resource_id:uuid}/settings",
        "booking.v1.get_resource",
        c.ResourceRef,
        c.ResourceSettings,
        STAFF,
        "A resource's settings, price rules and weekly hours (staff of its department)",
    ),
    OperationRoute(
        "PUT",
        "/resources/{resource_id:uuid}/prices",
        "booking.v1.set_prices",
        c.SetPricesRequest,
        c.Done,
        STAFF,
        "Replace the price rules of a resource of one's department",
    ),
    OperationRoute(
        "GET",
        "/closures",
        "booking.v1.list_closures",
        c.ListClosuresRequest,
        c.ClosureList,
        STAFF,
        "Closures of resources",
    ),
    OperationRoute(
        "POST",
        "/closures",
        "booking.v1.add_closure",
        c.ClosureRequest,
        c.ClosureReply,
        STAFF,
        "Close a resource for a period",
    ),
    OperationRoute(
        "DELETE",
        "/closures/{closure_id:uuid}",
        "booking.v1.remove_closure",
        c.RemoveClosureRequest,
        c.Done,
        STAFF,
        "Remove a closure",
    ),
    OperationRoute(
        "GET",
        "/resources/{resource_id:uuid}/quote",
        "booking.v1.quote",
        c.QuoteRequest,
        c.QuoteReply,
        ANYONE,
        QUOTE,
    ),
    OperationRoute(
        "POST",
        "/calendar/token",
        "booking.v1.calendar_token_create",
        c.CalendarTokenRequest,
        c.CalendarToken,
        RESIDENT,
        "Create (or replace) my calendar feed link",
        render=calendar_link,
        response_type=CalendarLink,
    ),
    OperationRoute(
        "DELETE",
        "/calendar/token",
        "booking.v1.calendar_token_revoke",
        c.CalendarTokenRequest,
        c.CalendarToken,
        RESIDENT,
        "Revoke my calendar feed link",
        render=calendar_link,
        response_type=CalendarLink,
    ),
    OperationRoute(
        "POST",
        "/resources/{resource_id:uuid}/quote",
        "booking.v1.quote",
        c.QuoteRequest,
        c.QuoteReply,
        ANYONE,
        QUOTE + " (as a JSON body)",
        status_code=200,
        operation_id="quote_post",
    ),
    OperationRoute(
        "POST",
        "/waitlist",
        "booking.v1.join_waitlist",
        c.JoinWaitlistRequest,
        c.WaitlistEntryView,
        BOOKERS,
        "Queue for a taken time: when it frees, the first one waiting is offered a hold of it",
    ),
    OperationRoute(
        "GET",
        "/waitlist",
        "booking.v1.my_waitlist",
        c.MyWaitlistRequest,
        c.WaitlistList,
        BOOKERS,
        "My waiting-list entries (place in the queue, offers)",
    ),
    OperationRoute(
        "POST",
        f"{W}/leave",
        "booking.v1.leave_waitlist",
        c.WaitlistRef,
        c.WaitlistEntryView,
        BOOKERS,
        "Leave the waiting list (an offer out goes to the next one)",
        status_code=200,
    ),
    OperationRoute(
        "POST",
        f"{W}/decline",
        "booking.v1.decline_offer",
        c.WaitlistRef,
        c.WaitlistEntryView,
        BOOKERS,
        "Decline an offer: its hold is released and the time offered to the next one",
        status_code=200,
    ),
    # Seasonal fixed slots (issue 19): an organisation's contact person (or staff) applies,
    # staff of the resource's department decide on the whole season.
    OperationRoute(
        "POST",
        "/seasons",
        "booking.v1.apply_season",
        s.ApplySeasonRequest,
        s.SeasonView,
        BOOKERS,
        "Apply for a seasonal fixed slot for an organisation (its occurrences are requested)",
    ),
    OperationRoute(
        "GET",
        "/seasons",
        "booking.v1.list_seasons",
        s.ListSeasonsRequest,
        s.SeasonList,
        BOOKERS,
        "Seasons: staff those of their departments (state=applied: waiting), others their own",
    ),
    OperationRoute(
        "GET",
        S,
        "booking.v1.get_season",
        s.SeasonRef,
        s.SeasonView,
        BOOKERS,
        "A season with its occurrences and conflicts (the applicant, staff of the department)",
    ),
    OperationRoute(
        "POST",
        f"{S}/approve",
        "booking.v1.approve_season",
        s.SeasonRef,
        s.SeasonView,
        STAFF,
        "Approve a season: every occurrence still requested is confirmed, the others listed",
        status_code=200,
    ),
    OperationRoute(
        "POST",
        f"{S}/deny",
        "booking.v1.deny_season",
        s.DenySeasonRequest,
        s.SeasonView,
        STAFF,
        "Deny a season with a reason (every occurrence requested is denied)",
        status_code=200,
    ),
    OperationRoute(
        "GET",
        "/calendar/feeds/{token:str}",
        "booking.v1.calendar_feed",
        c.CalendarFeedRequest,
        c.CalendarText,
        ANYONE,
        "My private calendar feed (the secret link is the credential)",
        render=calendar_response,
        response_type=str,
        media_type="text/calendar",
    ),
    OperationRoute(
        "GET",
        f"{R}/ics",
        "booking.v1.reservation_ics",
        c.ReservationIcsRequest,
        c.CalendarText,
        SIGNED_IN,
        "One reservation as iCalendar",
        render=calendar_response,
        response_type=str,
        media_type="text/calendar",
    ),
    OperationRoute(
        "GET",
        "/resources/{resource_id:uuid}/busy",
        "booking.v1.busy_feed",
        c.BusyFeedRequest,
        c.CalendarText,
        ANYONE,
        "A resource's busy times as iCalendar (no personal data)",
        render=calendar_response,
        response_type=str,
        media_type="text/calendar",
    ),
]


def routes() -> list[ControllerRouterHandler]:
    return [Router("/api/v1", route_handlers=[r.handler() for r in ROUTES], tags=["booking"])]
