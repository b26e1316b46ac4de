"""`/api/v1` routes of the booking service: resources, availability, search, holds,
reservations, approvals and series. Object-level rules (own reservations, own department's
resources) are enforced by booking on the principal the gateway passes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response, Router
from litestar.types import ControllerRouterHandler

from services.gateway.routes.factory import (
    ANYONE,
    RESIDENT,
    SIGNED_IN,
    STAFF,
    Spec,
    Who,
    absolute_url,
    operation_route,
    ops_from,
    text_media_type,
)
from shared.contracts import booking as contracts

BOOKERS = Who(roles=("resident", "staff", "admin"))

R = "/reservations/{reservation_id:uuid}"
SPECS: list[Spec] = [
    (
        "GET",
        "/resources/{resource_id:uuid}/availability",
        "availability",
        "AvailabilityRequest",
        "Availability",
        ANYONE,
        "Free slots of one resource",
    ),
    (
        "GET",
        "/search",
        "search",
        "SearchRequest",
        "SearchReply",
        ANYONE,
        "Where and when something is free",
    ),
    (
        "POST",
        "/holds",
        "hold",
        "HoldRequest",
        "HoldReply",
        BOOKERS,
        "Hold one or several resources (15 minutes, priced)",
    ),
    (
        "GET",
        "/reservations",
        "my_reservations",
        "MyReservationsRequest",
        "ReservationList",
        RESIDENT,
        "My reservations",
    ),
    (
        "GET",
        R,
        "get",
        "ReservationRef",
        "ReservationView",
        SIGNED_IN,
        "One reservation (its customer, staff of its department, admin)",
    ),
    (
        "POST",
        f"{R}/release",
        "release",
        "ReservationRef",
        "ReservationView",
        BOOKERS,
        "Release a hold",
    ),
    (
        "POST",
        f"{R}/cancel",
        "cancel",
        "CancelRequest",
        "CancelReply",
        BOOKERS,
        "Cancel a reservation (refund by the cancellation policy)",
    ),
    (
        "POST",
        f"{R}/approve",
        "approve",
        "ReservationRef",
        "ReservationView",
        STAFF,
        "Approve a requested reservation",
    ),
    (
        "POST",
        f"{R}/deny",
        "deny",
        "DenyRequest",
        "ReservationView",
        STAFF,
        "Deny a requested reservation with a reason",
    ),
    (
        "POST",
        f"{R}/confirm",
        "confirm",
        "ReservationRef",
        "ReservationView",
        STAFF,
        "Confirm a reservation (free of charge)",
    ),
    (
        "POST",
        "/series",
        "hold_series",
        "SeriesRequest",
        "SeriesReply",
        BOOKERS,
        "Hold a recurring series",
    ),
    (
        "POST",
        "/series/{series_id:uuid}/cancel",
        "cancel_series",
        "CancelSeriesRequest",
        "CancelSeriesReply",
        BOOKERS,
        "Cancel the upcoming occurrences of a series",
    ),
]


# Staff operations: the request found by the subject in its docstring; each reply typed.
STAFF_SPECS: list[Spec] = [
    (
        "GET",
        "/resources",
        "list_resources",
        None,
        "ResourceList",
        ANYONE,
        "Resources (filters, pages)",
    ),
    (
        "GET",
        "/units",
        "list_units",
        None,
        "UnitList",
        ANYONE,
        "Units (places) by name (filters, pages)",
    ),
    (
        "PUT",
        "/resources/{resource_id:uuid}",
        "update_resource",
        None,
        "ResourceSummary",
        STAFF,
        "Change a resource of one's department",
    ),
    (
        "POST",
        "/resources",
        "create_resource",
        None,
        "ResourceSummary",
        STAFF,
        "Create a resource in one's department",
    ),
    ("GET", "/staff/day", "day_view", None, "DayView", STAFF, "The day's reservations of a unit"),
    (
        "GET",
        "/staff/approvals",
        "pending_approvals",
        None,
        "ReservationList",
        STAFF,
        "Requests waiting for approval in one's department",
    ),
    (
        "POST",
        "/units",
        "upsert_unit",
        None,
        "UnitView",
        STAFF,
        "Create a unit of one's department (or update it: `unit_id` in the body)",
    ),
    (
        "PUT",
        "/units/{unit_id:uuid}/hours",
        "set_hours",
        None,
        "Done",
        STAFF,
        "Replace the weekly opening hours of a unit (or of one of its resources)",
    ),
    (
        "GET",
        "/resources/{resource_id:uuid}/settings",
        "get_resource",
        None,
        "ResourceSettings",
        STAFF,
        "A resource's settings, price rules and weekly hours (staff of its department)",
    ),
    (
        "PUT",
        "/resources/{resource_id:uuid}/prices",
        "set_prices",
        None,
        "Done",
        STAFF,
        "Replace the price rules of a resource of one's department",
    ),
    ("GET", "/closures", "list_closures", None, "ClosureList", STAFF, "Closures of resources"),
    (
        "POST",
        "/closures",
        "add_closure",
        None,
        "ClosureReply",
        STAFF,
        "Close a resource for a period",
    ),
    (
        "DELETE",
        "/closures/{closure_id:uuid}",
        "remove_closure",
        None,
        "Done",
        STAFF,
        "Remove a closure",
    ),
]

# Prices are public; a signed-in caller's own customer group applies unless one is asked for.
QUOTE_GET: Spec = (
    "GET",
    "/resources/{resource_id:uuid}/quote",
    "quote",
    "QuoteRequest",
    "QuoteReply",
    ANYONE,
    "The price of a booking (gross, net, VAT) without holding anything",
)
QUOTE_POST: Spec = ("POST", *QUOTE_GET[1:6], QUOTE_GET[6] + " (as a JSON body)")

CALENDAR_SPECS: list[Spec] = [
    (
        "GET",
        "/calendar/feeds/{token:str}",
        "calendar_feed",
        "CalendarFeedRequest",
        "CalendarText",
        ANYONE,
        "My private calendar feed (the secret link is the credential)",
    ),
    (
        "GET",
        f"{R}/ics",
        "reservation_ics",
        "ReservationIcsRequest",
        "CalendarText",
        SIGNED_IN,
        "One reservation as iCalendar",
    ),
    (
        "GET",
        "/resources/{resource_id:uuid}/busy",
        "busy_feed",
        "BusyFeedRequest",
        "CalendarText",
        ANYONE,
        "A resource's busy times as iCalendar (no personal data)",
    ),
]
TOKEN_SPECS: list[Spec] = [
    (
        "POST",
        "/calendar/token",
        "calendar_token_create",
        "CalendarTokenRequest",
        "CalendarToken",
        RESIDENT,
        "Create (or replace) my calendar feed link",
    ),
    (
        "DELETE",
        "/calendar/token",
        "calendar_token_revoke",
        "CalendarTokenRequest",
        "CalendarToken",
        RESIDENT,
        "Revoke my calendar feed link",
    ),
]


def calendar_response(reply: Any, _: Request[Any, Any, Any]) -> Response[str]:
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


def calendar_link(reply: Any, request: Request[Any, Any, Any]) -> CalendarLink:
    if reply.token is None:
        return CalendarLink(token=None)
    path = f"/api/v1/calendar/feeds/{quote(reply.token, safe='')}"
    return CalendarLink(token=reply.token, feed_url=absolute_url(request, path))


# Statuses beyond every route's (OpenAPI): a hold or a request that ran out of time is 410;
# inactive resources are listed for their department's staff only (403 for others).
ERRORS = {"confirm": (410,), "approve": (410,), "list_resources": (403,)}


def routes() -> list[ControllerRouterHandler]:
    ops = ops_from(contracts, "booking", [*SPECS, *STAFF_SPECS, QUOTE_GET], errors=ERRORS)
    ops += ops_from(
        contracts, "booking", TOKEN_SPECS, render=calendar_link, response_type=CalendarLink
    )
    ops += ops_from(
        contracts, "booking", [QUOTE_POST], status_code=200, extra={"operation_id": "quote_post"}
    )
    ops += ops_from(
        contracts,
        "booking",
        CALENDAR_SPECS,
        render=calendar_response,
        response_type=str,
        media_type="text/calendar",
    )
    if not ops:
        return []
    return [Router("/api/v1", route_handlers=[operation_route(op) for op in ops], tags=["booking"])]
