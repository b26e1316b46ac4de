"""Clerks' resources: settings and cancellation policy, price rules, weekly opening hours.

One page per resource (`/staff/resources/{id}`) reads `booking.v1.get_resource` and saves with
`update_resource`, `set_prices` and `set_hours`; the booking service checks the department.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from services.gateway.web import i18n
from services.gateway.web.clerk import STAFF, VAT_RATES, resources_of
from services.gateway.web.forms import read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import HELSINKI, language_of, page, today
from services.gateway.web.resident import _back
from shared.contracts import booking as bk
from shared.errors import ValidationFailed

Req = Request[Any, Any, Any]


CUSTOMER_GROUPS = ("resident", "other", "association", "business")
PRICE_UNITS = ("hour", "booking", "free")
KINDS = ("space", "equipment", "appointment")
WHO_MAY_BOOK = ("public", "residents", "staff")
WHOLE_NUMBERS = (
    "capacity",
    "min_minutes",
    "max_minutes",
    "slot_minutes",
    "align_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "min_notice_minutes",
    "max_days_ahead",
    "free_cancel_hours",
    "late_refund_percent",
)
SWITCHES = ("needs_approval", "allows_multi_day", "active")
ALL_DAYS = [0, 1, 2, 3, 4, 5, 6]
MAX_RULE_ROWS = 200
MAX_INTERVALS = 12  # opening intervals of one weekday the form may carry
# set_prices names `rules[i].<field>`; the form names `rule-<row>-<input>`
RULE_INPUTS = {
    "customer_group": "group",
    "weekdays": "days",
    "from_time": "from",
    "to_time": "to",
    "unit": "unit",
    "amount_cents": "euros",
    "vat_rate_bp": "vat",
    "valid_from": "valid-from",
    "valid_until": "valid-until",
    "per_place": "per-place",
}


def euros_to_cents(value: Any, field: str) -> int:
    """A price typed in euros ("12", "12,50", "12.5") as integer cents."""
    text = str(value or "").replace(",", ".").replace("€", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed("not a price in euros", field=field, reason="price") from None
    if not amount.is_finite() or amount < 0:
        raise ValidationFailed("a price cannot be negative", field=field, reason="negative_price")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("a price has at most two decimals", field=field, reason="decimals")
    return int(amount * 100)


def _whole(value: Any, field: str) -> int:
    text = str(value or "").strip()
    if not text.removeprefix("-").isdigit() or len(text) > 9:
        raise ValidationFailed("a whole number", field=field, reason="whole")
    return int(text)


def _clock(value: Any, field: str) -> time | None:
    """A time of day typed as HH:MM (None when empty)."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("a time as HH:MM", field=field) from None


def _day(value: Any, field: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("a date as YYYY-MM-DD", field=field) from None


def _choice(value: Any, choices: tuple[str, ...], field: str) -> str:
    if value not in choices:
        raise ValidationFailed(f"one of {', '.join(choices)}", field=field)
    return str(value)


def _hhmm(value: Any) -> str:
    return str(value or "00:00")[:5]


def _today(current: bk.ResourceSettings) -> date:
    """Today where the resource is (validity dates are its local dates)."""
    return datetime.now(ZoneInfo(current.tz or "Europe/Helsinki")).date()


def _all_day(rule: bk.PriceRuleIn) -> bool:
    """A rule for every weekday all day long (not a peak / off-peak band)."""
    return sorted(rule.weekdays) == ALL_DAYS and rule.from_time == rule.to_time == time(0)


@dataclass(frozen=True, slots=True)
class RuleRow:
    """A price rule as a row of the form: euros with two decimals, times as HH:MM."""

    group: str
    days: frozenset[int]
    start: str
    end: str
    unit: str
    cents: int
    euros: str
    vat: int
    valid_from: str
    valid_until: str
    per_place: bool


def _rule_rows(prices: list[bk.PriceRuleIn]) -> list[RuleRow]:
    return [
        RuleRow(
            group=r.customer_group,
            days=frozenset(r.weekdays),
            start=_hhmm(r.from_time),
            end=_hhmm(r.to_time),
            unit=r.unit,
            cents=r.amount_cents,
            euros=f"{Decimal(r.amount_cents) / 100:.2f}",
            vat=r.vat_rate_bp,
            valid_from=r.valid_from.isoformat(),
            valid_until=r.valid_until.isoformat() if r.valid_until else "",
            per_place=r.per_place,
        )
        for r in prices
    ]


def _week(hours: list[bk.WeeklyHoursView], today: date) -> tuple[list[list[tuple[str, str]]], bool]:
    """The weekly intervals in force today: the resource's own, else its unit's; and whether
    they are the resource's own."""
    in_force = [h for h in hours if h.valid_from <= today]
    own = [h for h in in_force if h.scope == "resource"]
    shown = own or [h for h in in_force if h.scope == "unit"]
    days = [[(_hhmm(h.opens), _hhmm(h.closes)) for h in shown if h.weekday == d] for d in ALL_DAYS]
    return days, bool(own)


@get("/staff/resources", name="web:staff_resources", guards=STAFF)
async def staff_resources(request: Req) -> Response[str]:
    return page(
        request,
        "staff/resources.html",
        resources=await resources_of(request, include_inactive=True),
        vat_rates=VAT_RATES,
        key=new_key(),
    )


@get("/staff/resources/{resource_id:str}", name="web:staff_resource", guards=STAFF)
async def staff_resource(request: Req, resource_id: FromPath[str]) -> Response[str]:
    """One resource: its settings and cancellation policy, price rules and weekly hours."""
    current = await fetch(request, "get_resource", bk.ResourceSettings, resource_id=resource_id)
    today = _today(current)
    days, own_hours = _week(current.hours, today)
    rules = _rule_rows(current.prices)
    vat_rates = sorted({*VAT_RATES, *(r.vat for r in rules)}, reverse=True)
    return page(
        request,
        "staff/resource.html",
        resource_id=resource_id,
        current=current,
        s=current.settings,
        rules=rules,
        days=days,
        own_hours=own_hours,
        upcoming=[h for h in current.hours if h.valid_from > today],
        today=today.isoformat(),
        vat_rates=vat_rates,
        groups=CUSTOMER_GROUPS,
        price_units=PRICE_UNITS,
        kinds=KINDS,
        who_may_book=WHO_MAY_BOOK,
        weekday_names=i18n.WEEKDAYS[language_of(request)],
        key=new_key(),
    )


async def _update(request: Req, resource_id: str, key: str, **changes: Any) -> Redirect:
    """booking.v1.update_resource with the resource's current settings and `changes`."""
    current = await fetch(request, "get_resource", bk.ResourceSettings, resource_id=resource_id)
    settings = msgspec.structs.replace(current.settings, **changes, idempotency_key=key)
    # a refused setting names its field and the check it failed (`details["reason"]`)
    await fetch(request, "update_resource", bk.ResourceSummary, **msgspec.structs.asdict(settings))
    return _back(f"/staff/resources/{resource_id}", "done_saved")


@post("/staff/resources/{resource_id:str}/settings", name="web:resource_settings", guards=STAFF)
async def save_settings(request: Req, resource_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    name_fi = str(form.get("name_fi") or "").strip()
    if not name_fi:
        raise ValidationFailed("give the name in Finnish", field="name_fi")
    name = bk.LocalizedText(
        fi=name_fi,
        sv=str(form.get("name_sv") or "").strip() or None,
        en=str(form.get("name_en") or "").strip() or None,
    )
    changes: dict[str, Any] = {n: _whole(form.get(n), n) for n in WHOLE_NUMBERS}
    changes |= {n: form.get(n) == "on" for n in SWITCHES}
    changes |= {
        "name": name,
        "kind": _choice(form.get("kind"), KINDS, "kind"),
        "who_may_book": _choice(form.get("who_may_book"), WHO_MAY_BOOK, "who_may_book"),
        "cost_centre": str(form.get("cost_centre") or "").strip(),
    }
    return await _update(request, resource_id, str(form.get("key") or new_key()), **changes)


@post("/staff/resources/{resource_id:str}/active", name="web:resource_active", guards=STAFF)
async def set_active(request: Req, resource_id: FromPath[str]) -> Redirect:
    """Deactivate (no new bookings; existing ones stay) or reactivate a resource."""
    form = await read_form(request)
    active = _choice(form.get("active"), ("on", "off"), "active") == "on"
    return await _update(request, resource_id, str(form.get("key") or new_key()), active=active)


def _rule_from(form: Any, n: int, today: date) -> dict[str, Any]:
    def name(part: str) -> str:
        return f"rule-{n}-{part}"

    unit = _choice(form.get(name("unit")), PRICE_UNITS, name("unit"))
    euros = str(form.get(name("euros")) or "").strip()
    if not euros and unit != "free":
        raise ValidationFailed("give a price in euros", field=name("euros"))
    days = sorted({_whole(d, name("days")) for d in form.getall(name("days"), [])})
    if not days:
        raise ValidationFailed("choose at least one weekday", field=name("days"))
    return {
        "customer_group": _choice(form.get(name("group")), CUSTOMER_GROUPS, name("group")),
        "weekdays": days,
        "from_time": (_clock(form.get(name("from")), name("from")) or time(0)).isoformat(),
        "to_time": (_clock(form.get(name("to")), name("to")) or time(0)).isoformat(),
        "unit": unit,
        "amount_cents": euros_to_cents(euros, name("euros")) if euros else 0,
        "vat_rate_bp": _whole(form.get(name("vat")), name("vat")),
        "valid_from": (_day(form.get(name("valid-from")), name("valid-from")) or today).isoformat(),
        "valid_until": (u := _day(form.get(name("valid-until")), name("valid-until")))
        and u.isoformat(),
        "per_place": form.get(name("per-place")) == "on",
    }


def _row_error(exc: ValidationFailed, rows: list[int]) -> ValidationFailed:
    """A set_prices error about `rules[i].x` named by the form's row and input instead."""
    found = re.fullmatch(r"rules\[(\d+)\]\.(\w+)", exc.field or "")
    if not found or int(found.group(1)) >= len(rows):
        return exc
    row, part = rows[int(found.group(1))], RULE_INPUTS.get(found.group(2), found.group(2))
    details = {k: v for k, v in exc.details.items() if k != "field"}
    return ValidationFailed(exc.message, field=f"rule-{row}-{part}", **details)


@post("/staff/resources/{resource_id:str}/rules", name="web:price_rules", guards=STAFF)
async def save_price_rules(request: Req, resource_id: FromPath[str]) -> Redirect:
    """The price rules as the clerk left the table: rows kept as they were, changed, removed
    (ticked) or added (the empty row with a customer group chosen). Refused as a conflict when
    someone else changed the prices after the page was opened."""
    form = await read_form(request)
    count = _whole(form.get("rows"), "rows")
    if not 0 <= count <= MAX_RULE_ROWS:
        raise ValidationFailed(f"at most {MAX_RULE_ROWS} rows", field="rows")
    today = datetime.now(HELSINKI).date()
    rules, rows = [], []
    for n in range(count):
        if not form.get(f"rule-{n}-group") or form.get(f"rule-{n}-remove") == "on":
            continue
        rules.append(_rule_from(form, n, today))
        rows.append(n)
    try:
        await fetch(
            request,
            "set_prices",
            bk.Done,
            resource_id=resource_id,
            rules=rules,
            expected_version=str(form.get("version") or "") or None,
            idempotency_key=form.get("key") or new_key(),
        )
    except ValidationFailed as exc:
        raise _row_error(exc, rows) from None
    return _back(f"/staff/resources/{resource_id}", "done_saved")


def _intervals(form: Any, weekday: int) -> list[dict[str, Any]]:
    """One weekday's opening intervals from the form (empty pairs left out), in order and not
    overlapping."""
    found: list[tuple[time, time, str]] = []
    for k in range(MAX_INTERVALS):
        field = f"hours-{weekday}-{k}"
        opens = _clock(form.get(f"{field}-opens"), f"{field}-opens")
        closes = _clock(form.get(f"{field}-closes"), f"{field}-closes")
        if opens is None and closes is None:
            continue
        if opens is None or closes is None:
            missing = "opens" if opens is None else "closes"
            raise ValidationFailed("give both times, or neither", field=f"{field}-{missing}")
        if closes != time(0) and closes <= opens:
            raise ValidationFailed(
                "closes after it opens (00:00 = midnight)", field=f"{field}-closes"
            )
        found.append((opens, closes, field))
    found.sort()
    for (_, closes, _), (opens, _, field) in itertools.pairwise(found):
        if closes == time(0) or opens < closes:
            raise ValidationFailed("overlaps the interval before", field=f"{field}-opens")
    return [
        {"weekday": weekday, "opens": o.isoformat(), "closes": c.isoformat()} for o, c, _ in found
    ]


@post("/staff/resources/{resource_id:str}/hours", name="web:resource_hours", guards=STAFF)
async def save_hours(request: Req, resource_id: FromPath[str]) -> Redirect:
    """The weekly hours from a date on: the resource's own (they replace the unit's for it),
    or the whole unit's."""
    form = await read_form(request)
    scope = _choice(form.get("scope"), ("resource", "unit"), "scope")
    hours = [h for weekday in ALL_DAYS for h in _intervals(form, weekday)]
    if not hours:
        raise ValidationFailed(
            "give the hours of at least one day (to close it, add a closure or deactivate it)",
            field="hours",
        )
    current = await fetch(request, "get_resource", bk.ResourceSettings, resource_id=resource_id)
    today = _today(current)
    valid_from = _day(form.get("valid_from"), "valid_from") or today
    if valid_from < today:
        raise ValidationFailed("from today on", field="valid_from")
    await fetch(
        request,
        "set_hours",
        bk.Done,
        unit_id=current.settings.unit_id,
        resource_id=resource_id if scope == "resource" else None,
        hours=hours,
        valid_from=valid_from.isoformat(),
        idempotency_key=form.get("key") or new_key(),
    )
    return _back(f"/staff/resources/{resource_id}", "done_saved")


@post("/staff/resources/{resource_id:str}/prices", name="web:set_prices", guards=STAFF)
async def set_prices(request: Req, resource_id: FromPath[str]) -> Redirect:
    """Hourly base prices (all day, every day) for every customer group with the VAT rate,
    from today. Peak and off-peak bands and other rules stay as they are."""
    form = await read_form(request)
    vat = int(form.get("vat_rate_bp") or 0) if str(form.get("vat_rate_bp") or "0").isdigit() else -1
    if vat not in VAT_RATES:
        raise ValidationFailed("choose a VAT rate", field="vat_rate_bp")
    base = [
        {
            "customer_group": group,
            "unit": "hour",
            "amount_cents": euros_to_cents(form.get(f"{group}_euros"), f"{group}_euros"),
            "vat_rate_bp": vat,
            "valid_from": today().isoformat(),
        }
        for group in CUSTOMER_GROUPS
    ]
    current = await fetch(request, "get_resource", bk.ResourceSettings, resource_id=resource_id)
    kept: list[Any] = [r for r in current.prices if not _all_day(r)]
    await fetch(
        request,
        "set_prices",
        bk.Done,
        resource_id=resource_id,
        rules=kept + base,
        expected_version=current.prices_version,
        idempotency_key=form.get("key") or new_key(),
    )
    return _back("/staff/resources", "done_saved")


ROUTES = [
    staff_resources,
    staff_resource,
    save_settings,
    set_active,
    save_price_rules,
    save_hours,
    set_prices,
]
