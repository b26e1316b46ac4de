"""Prices, VAT and cancellation refunds in integer cents (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from shared.contracts.common import Principal

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


def quote(
    rules: list[PriceRule],
    group: CustomerGroup,
    starts_at: datetime,
    ends_at: datetime,
    places: int,
    tz: str,
) -> Quote:
    """The price of a booking: the rule for its group covering its local start time.

    Per-hour prices count real elapsed minutes (a DST night is 1 h shorter or longer) and
    are multiplied by places. No matching rule means free of charge.
    """
    local = starts_at.astimezone(ZoneInfo(tz))
    candidates = [r for r in rules if r.customer_group == group and _covers(r, local)]
    if not candidates or candidates[0].unit == "free":
        return Quote(gross_cents=0, net_cents=0, vat_cents=0, vat_rate_bp=0, customer_group=group)
    rule = candidates[0]
    if rule.unit == "hour":
        minutes = (ends_at - starts_at) // timedelta(minutes=1)
        gross = (rule.amount_cents * minutes * places + 30) // 60
    else:
        gross = rule.amount_cents * places
    net, vat = split_vat(gross, rule.vat_rate_bp)
    return Quote(
        gross_cents=gross,
        net_cents=net,
        vat_cents=vat,
        vat_rate_bp=rule.vat_rate_bp,
        customer_group=group,
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
