"""The summary step between choosing a slot and holding it (GOV.UK "check your answers"):
resource, place, time, price, the cancellation policy and what happens next, before the
resident commits. The week's form comes here (GET, so signing in keeps the choice in the
address); "Confirm" posts to `/holds`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.params import FromQuery

from services.gateway.web.forms import back_to_form
from services.gateway.web.ops import call, new_key
from services.gateway.web.render import page
from services.gateway.web.resident import (
    _resource_summary,
    _signed_in,
    _week_start,
    span,
    whole,
)
from shared.errors import ServiceError

Req = Request[Any, Any, Any]


@get("/book", name="web:book_summary")
async def book_summary(
    request: Req,
    resource_id: FromQuery[str],
    slot: FromQuery[str] = "",
    length: FromQuery[str] = "1",
    places: FromQuery[str] = "1",
    repeat: FromQuery[str] = "1",
) -> Response[Any]:
    _signed_in(request)
    choice = {"slot": slot, "length": length, "places": places, "repeat": repeat}
    form_page = f"/resources/{resource_id}" + (f"?week={slot[:10]}" if slot[:10] else "")
    try:
        start, end = span(slot, whole(length, "length", 1))
        week = f"/resources/{resource_id}?week={start.date().isoformat()}"
        count, seats = whole(repeat, "repeat", 1), whole(places, "places", 1)
        quote = await call(
            request,
            "quote",
            resource_id=resource_id,
            starts_at=start.isoformat(),
            ends_at=end.isoformat(),
            places=seats,
        )
    except ServiceError as exc:  # back to the week, the choice kept, the field named
        back = back_to_form(request, exc, to=form_page, values=choice)
        if back is None:
            raise
        return back
    resource = await _resource_summary(request, resource_id, _week_start(start.date().isoformat()))
    return page(
        request,
        "book_summary.html",
        resource=resource,
        resource_id=resource_id,
        starts_at=start,
        ends_at=end,
        places=seats,
        repeat=count,
        length=length,
        slot=slot,
        quote=quote,
        week=week,
        change=f"{week}&{urlencode(choice)}",
        key=new_key(),
    )


ROUTES = [book_summary]
