"""Clerks' units (places): name in fi / sv / en, address, time zone and municipality.

`/staff/units` lists the units of the clerk's departments (all for admins) from
`booking.v1.list_units`, each with a form that saves it with `upsert_unit`, and a form for a
new unit; the booking service checks the department again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from services.gateway.web.clerk import STAFF, departments_of
from services.gateway.web.forms import read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page
from services.gateway.web.resident import _back
from shared.contracts import booking as bk
from shared.errors import ValidationFailed

Req = Request[Any, Any, Any]
ZONES = ("Europe/Helsinki", "Europe/Stockholm", "Europe/Tallinn", "America/New_York")


async def my_units(request: Req) -> list[bk.UnitView]:
    replies = await asyncio.gather(
        *(
            fetch(request, "list_units", bk.UnitList, merchant_id=d, limit=500)
            for d in departments_of(request)
        )
    )
    return [u for reply in replies for u in reply.units]


def _text(form: Any, name: str, limit: int) -> str:
    value = str(form.get(name) or "").strip()
    if len(value) > limit:
        raise ValidationFailed(f"at most {limit} characters", field=name)
    return value


def unit_from(form: Any) -> dict[str, Any]:
    """The upsert_unit fields of a unit form (the service checks zone and department)."""
    name_fi = _text(form, "name_fi", 200)
    if not name_fi:
        raise ValidationFailed("give the name in Finnish", field="name_fi")
    merchant_id = _text(form, "merchant_id", 64)
    if not merchant_id:
        raise ValidationFailed("choose the department", field="merchant_id")
    return {
        "name": {
            "fi": name_fi,
            "sv": _text(form, "name_sv", 200) or None,
            "en": _text(form, "name_en", 200) or None,
        },
        "address": _text(form, "address", 300),
        "tz": _text(form, "tz", 64) or "Europe/Helsinki",
        "municipality": _text(form, "municipality", 3) or "853",
        "merchant_id": merchant_id,
        "idempotency_key": str(form.get("key") or new_key()),
    }


@get("/staff/units", name="web:staff_units", guards=STAFF)
async def staff_units(request: Req) -> Response[str]:
    units = await my_units(request)
    mine = [d for d in departments_of(request) if d]  # admins: the departments with units
    return page(
        request,
        "staff/units.html",
        units=units,
        departments=mine or sorted({u.merchant_id for u in units}),
        zones=sorted({*ZONES, *(u.tz for u in units)} - {""}),
        key=new_key(),
    )


@post("/staff/units", name="web:new_unit", guards=STAFF)
async def new_unit(request: Req) -> Response[Any]:
    await fetch(request, "upsert_unit", bk.UnitView, **unit_from(await read_form(request)))
    return _back("/staff/units", "done_saved")


@post("/staff/units/{unit_id:str}", name="web:save_unit", guards=STAFF)
async def save_unit(request: Req, unit_id: FromPath[str]) -> Response[Any]:
    fields = unit_from(await read_form(request))
    await fetch(request, "upsert_unit", bk.UnitView, unit_id=unit_id, **fields)
    return _back("/staff/units", "done_saved")


ROUTES = [staff_units, new_unit, save_unit]
