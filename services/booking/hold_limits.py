"""Limits on one customer's open holds, applied in the hold's transaction (the rule itself is
`domain/limits.py`; the lock and the count are the migration's `open_holds_locked`)."""

from __future__ import annotations

from collections import Counter

import asyncpg

from services.booking import store
from services.booking.domain.limits import HoldLimits, OnResource, check_open_holds
from services.booking.domain.model import Resource
from shared.access import acts_for_department
from shared.contracts.common import Principal


def limits_for(limits: HoldLimits, principal: Principal, res: Resource) -> tuple[int, int] | None:
    """(most open holds overall, on `res`) for this customer, or None: not limited (staff
    booking for their own department, or no limits set)."""
    if not limits.active or acts_for_department(principal, res.merchant_id):
        return None
    return limits.overall, limits.of(res)


async def check_hold_limits(
    conn: asyncpg.Connection,
    limits: HoldLimits,
    principal: Principal,
    adding: list[Resource],
    field: str,
) -> None:
    """In the caller's transaction, before any range lock: take the customer's lock and
    refuse (`LimitReached`) holds of `adding` (one entry per new hold) that would pass the
    customer's limits on open holds. A concurrent request of the same customer waits for this
    transaction and then counts what it holds."""
    limited = [r for r in adding if limits_for(limits, principal, r) is not None]
    if not limited:
        return
    found = await store.open_holds_locked(conn, principal.subject)
    counted = [h for h in found if not acts_for_department(principal, h.merchant_id)]
    resources = {r.id: r for r in limited}
    on = [
        OnResource(
            resource_id=rid,
            open=sum(h.open for h in counted if h.resource_id == rid),
            adding=n,
            most=limits.of(resources[rid]),
        )
        for rid, n in Counter(r.id for r in limited).items()
    ]
    check_open_holds(sum(h.open for h in counted), len(limited), limits.overall, on, field)
