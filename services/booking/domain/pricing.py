"""Prices, VAT and cancellation refunds in integer cents (no I/O)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from services.booking.domain.model import Reservation
from services.booking.domain.slots import at_local
from shared.contracts.common import Principal
from shared.errors import ValidationFailed

CustomerGroup = Literal["resident", "other", "association", "business"]


@dataclass(frozen=True, kw_only=True)
class PriceRule:
    customer_group: CustomerGroup
    weekdays: tuple[int, ...]
    from_time: time
    to_time: time  # time(0) = end of day
    unit: Literal["hour", "booking", "free"]
    amount_cents: int
    vat_rate_bp: int
    valid_from: date = date(2000, 1, 1)
    valid_until: date | None = None
    per_place: bool = False  # multiplied by the places booked (e.g. a swimmer in a lane)


@dataclass(frozen=True, kw_only=True)
class Quote:
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    customer_group: CustomerGroup


FREE = Quote(gross_cents=0, net_cents=0, vat_cents=0, vat_rate_bp=0, customer_group="other")


def customer_group(principal: Principal | None, municipality: str) -> CustomerGroup:
    """Associations and businesses by scope; residents by the home-municipality claim."""
    if principal is None:
        return "other"
    if "association" in principal.scopes:
        return "association"
    if "business" in principal.scopes:
        return "business"
    return "resident" if principal.home_municipality == municipality else "other"


def split_vat(gross_cents: int, vat_rate_bp: int) -> tuple[int, int]:
    """(net, vat) of a VAT-inclusive gross amount; net rounded half up, vat = gross - net."""
    net = (gross_cents * 10000 * 2 + (10000 + vat_rate_bp)) // (2 * (10000 + vat_rate_bp))
    return net, gross_cents - net


def _covers(rule: PriceRule, local: datetime) -> bool:
    if local.weekday() not in rule.weekdays:
        return False
    if local.date() < rule.valid_from or (rule.valid_until and local.date() > rule.valid_until):
        return False
    t = local.time()
    end_ok = rule.to_time == time(0) or t < rule.to_time
    return rule.from_time <= t and end_ok


def _pieces(
    rules: list[PriceRule], starts_at: datetime, ends_at: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """[starts_at, ends_at) cut wherever a rule may begin or end (its times of day, midnight),
    so that one rule covers each piece from its start to its end."""
    walls = {r.from_time for r in rules} | {r.to_time for r in rules} | {time(0)}
    cuts = {starts_at, ends_at}
    day = starts_at.astimezone(zone).date()
    last = ends_at.astimezone(zone).date()
    while day <= last:
        for wall in walls:
            instant = at_local(day, wall, zone)
            if starts_at < instant < ends_at:
                cuts.add(instant)
        day += timedelta(days=1)
    points = sorted(cuts)
    return list(itertools.pairwise(points))


def quote(
    rules: list[PriceRule],
    group: CustomerGroup,
    starts_at: datetime,
    ends_at: datetime,
    places: int,
    tz: str,
) -> Quote:
    """The price of a booking, split across the time bands of its group's rules.

    Each piece of the booking takes the most specific rule covering it (latest start of day,
    then fewest weekdays). Per-hour rules count real elapsed minutes (a DST night is 1 h
    shorter or longer); a per-booking rule is charged once however many pieces it covers;
    `per_place` rules are multiplied by the places. A time no rule of the group covers is
    not free: it raises `ValidationFailed` (a resource is free by its `free` rules).
    """
    zone = ZoneInfo(tz)
    mine = sorted(
        (r for r in rules if r.customer_group == group),
        key=lambda r: (-(r.from_time.hour * 60 + r.from_time.minute), len(r.weekdays)),
    )
    hour_minutes: dict[int, int] = {}  # rule index -> minutes
    per_booking: set[int] = set()
    for a, b in _pieces(mine, starts_at, ends_at, zone):
        local = a.astimezone(zone)
        n = next((n for n, r in enumerate(mine) if _covers(r, local)), None)
        if n is None:
            raise ValidationFailed(
                f"no price for the customer group {group} at {local:%a %H:%M}",
                field="starts_at",
                customer_group=group,
            )
        if mine[n].unit == "hour":
            hour_minutes[n] = hour_minutes.get(n, 0) + (b - a) // timedelta(minutes=1)
        elif mine[n].unit == "booking":
            per_booking.add(n)
    sixtieths: dict[int, int] = {}  # VAT rate -> gross cents x 60
    for n in [*hour_minutes, *per_booking]:
        rule = mine[n]
        times = places if rule.per_place else 1
        amount = (
            rule.amount_cents * hour_minutes[n] if n in hour_minutes else rule.amount_cents * 60
        )
        sixtieths[rule.vat_rate_bp] = sixtieths.get(rule.vat_rate_bp, 0) + amount * times
    if len(sixtieths) > 1:
        raise ValidationFailed(
            "the price rules of this time have different VAT rates", field="starts_at"
        )
    if not sixtieths:
        return Quote(gross_cents=0, net_cents=0, vat_cents=0, vat_rate_bp=0, customer_group=group)
    [(rate, total)] = sixtieths.items()
    gross = (total + 30) // 60
    net, vat = split_vat(gross, rate)
    return Quote(
        gross_cents=gross, net_cents=net, vat_cents=vat, vat_rate_bp=rate, customer_group=group
    )


def refund_cents(
    paid_cents: int,
    starts_at: datetime,
    now: datetime,
    free_cancel_hours: int,
    late_refund_percent: int,
) -> int | None:
    """What a customer gets back when cancelling now; None when it is too late (started)."""
    if now >= starts_at:
        return None
    if now <= starts_at - timedelta(hours=free_cancel_hours):
        return paid_cents
    return paid_cents * late_refund_percent // 100


def kept_by_policy(r: Reservation, refund: int, season: bool) -> int:
    """What a cancelled season occurrence keeps of its price (billed with its month): the
    part the policy does not give back; nothing for anything else (a cart order's refund
    follows the cancellation event)."""
    if not season or r.state != "confirmed":
        return 0
    return max(r.gross_cents - refund, 0)
