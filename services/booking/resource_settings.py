"""Staff read a resource's settings and replace its price rules (`booking.v1.get_resource`,
`booking.v1.set_prices`).

The console shows what is in force today or later, and sends back the whole set with the
clerk's changes: rules it did not change are kept as they were.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from services.booking import catalogue_store
from services.booking.access import require_staff
from services.booking.catalogue import Catalogue
from services.booking.domain.dates import check_day
from services.booking.domain.model import Resource
from services.booking.domain.pricing import PriceRule
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.errors import Conflict, ValidationFailed

_GROUPS = {"resident": 0, "other": 1, "association": 2, "business": 3}


def today_at(res: Resource) -> date:
    """Today in the resource's zone (validity dates are local dates)."""
    return datetime.now(ZoneInfo(res.tz)).date()


def rule_in(rule: PriceRule) -> c.PriceRuleIn:
    return c.PriceRuleIn(
        customer_group=rule.customer_group,
        weekdays=list(rule.weekdays),
        from_time=rule.from_time,
        to_time=rule.to_time,
        unit=rule.unit,
        amount_cents=rule.amount_cents,
        vat_rate_bp=rule.vat_rate_bp,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        per_place=rule.per_place,
    )


def _rule(rule: c.PriceRuleIn) -> PriceRule:
    return PriceRule(
        customer_group=rule.customer_group,
        weekdays=tuple(sorted(set(rule.weekdays))),
        from_time=rule.from_time,
        to_time=rule.to_time,
        unit=rule.unit,
        amount_cents=0 if rule.unit == "free" else rule.amount_cents,
        vat_rate_bp=rule.vat_rate_bp,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        per_place=rule.per_place,
    )


def ordered(rules: list[PriceRule]) -> list[PriceRule]:
    """By customer group, then validity and time of day (the order a clerk reads them)."""
    return sorted(
        rules,
        key=lambda r: (_GROUPS[r.customer_group], r.valid_from, r.from_time, r.weekdays),
    )


def version_of(rules: list[PriceRule]) -> str:
    """A fingerprint of a set of rules (order does not matter)."""
    encoded = sorted(msgspec.json.encode(rule_in(r)) for r in rules)
    return hashlib.sha256(b"\n".join(encoded)).hexdigest()[:16]


def check_rules(rules: list[c.PriceRuleIn], today: date) -> None:
    for n, rule in enumerate(rules):
        field = f"rules[{n}]"
        check_day(rule.valid_from, f"{field}.valid_from")
        check_day(rule.valid_until, f"{field}.valid_until")
        if rule.amount_cents < 0:
            raise ValidationFailed("not negative", field=f"{field}.amount_cents")
        if not 0 <= rule.vat_rate_bp <= 10000:
            raise ValidationFailed("basis points 0..10000", field=f"{field}.vat_rate_bp")
        if not rule.weekdays:
            raise ValidationFailed("choose at least one weekday", field=f"{field}.weekdays")
        if any(not 0 <= d <= 6 for d in rule.weekdays):
            raise ValidationFailed("weekdays 0..6", field=f"{field}.weekdays")
        if rule.to_time != time(0) and rule.to_time <= rule.from_time:
            raise ValidationFailed(
                "ends after it starts (00:00 = end of day)", field=f"{field}.to_time"
            )
        if rule.valid_until is not None and rule.valid_until < max(rule.valid_from, today):
            raise ValidationFailed(
                "ends before it starts or before today", field=f"{field}.valid_until"
            )


class ResourceSettings:
    def __init__(self, pool: asyncpg.Pool, catalogue: Catalogue) -> None:
        self.pool = pool
        self.catalogue = catalogue

    async def get_resource(self, req: c.ResourceRef, ctx: RequestContext) -> c.ResourceSettings:
        async with self.pool.acquire() as conn:
            res = await catalogue_store.resource(conn, req.resource_id, active_only=False)
            require_staff(ctx.principal, res.merchant_id)
            today = today_at(res)
            rules = ordered(await catalogue_store.price_rules_from(conn, res.id, today))
            hours = await catalogue_store.weekly_rows_from(conn, res.unit_id, res.id, today)
        return c.ResourceSettings(
            settings=settings_of(res),
            unit_name=c.LocalizedText(**res.unit_name),
            merchant_id=res.merchant_id,
            tz=res.tz,
            prices=[rule_in(r) for r in rules],
            prices_version=version_of(rules),
            hours=[
                c.WeeklyHoursView(
                    weekday=h["weekday"],
                    opens=h["opens"],
                    closes=h["closes"],
                    valid_from=h["valid_from"],
                    valid_until=h["valid_until"],
                    scope="resource" if h["own"] else "unit",
                )
                for h in hours
            ],
        )

    async def set_prices(self, req: c.SetPricesRequest, ctx: RequestContext) -> c.Done:
        async with self.pool.acquire() as conn, conn.transaction():
            res = await catalogue_store.resource(conn, req.resource_id, active_only=False)
            require_staff(ctx.principal, res.merchant_id)
            today = today_at(res)
            check_rules(req.rules, today)
            await catalogue_store.lock_resource(conn, res.id)
            if req.expected_version is not None:
                current = await catalogue_store.price_rules_from(conn, res.id, today)
                if version_of(current) != req.expected_version:
                    raise Conflict(
                        "the prices were changed meanwhile: reload and edit again",
                        field="expected_version",
                    )
            rules = [_rule(r) for r in req.rules]
            await catalogue_store.replace_price_rules(conn, res.id, today, rules)
        self.catalogue.invalidate()
        return c.Done()


def settings_of(res: Resource) -> c.ResourceUpsert:
    return c.ResourceUpsert(
        resource_id=res.id,
        unit_id=res.unit_id,
        name=c.LocalizedText(**res.name),
        kind=res.kind,  # type: ignore[arg-type]
        capacity=res.capacity,
        min_minutes=res.min_minutes,
        max_minutes=res.max_minutes,
        slot_minutes=res.slot_minutes,
        align_minutes=res.align_minutes,
        buffer_before_minutes=res.buffer_before_minutes,
        buffer_after_minutes=res.buffer_after_minutes,
        min_notice_minutes=res.min_notice_minutes,
        max_days_ahead=res.max_days_ahead,
        needs_approval=res.needs_approval,
        who_may_book=res.who_may_book,  # type: ignore[arg-type]
        cost_centre=res.cost_centre,
        allows_multi_day=res.allows_multi_day,
        free_cancel_hours=res.free_cancel_hours,
        late_refund_percent=res.late_refund_percent,
        active=res.active,
        max_open_holds_per_customer=res.max_open_holds_per_customer,
    )
