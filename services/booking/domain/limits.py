"""Limits on one customer's open holds (no I/O).

Holding time is free until checkout, so without a limit one resident can keep a hall from
everyone else by holding its slots again and again (issue 14: 30 slots of one resource with
three requests). An open hold is a reservation `held`, or `requested` and waiting for staff,
that has not expired. A customer may have at most `overall` of them at once, and at most
`per_resource` on one resource unless the resource sets its own limit. Staff booking a
resource of their own department are not limited (the service decides who is).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from services.booking.domain.model import Resource
from shared.errors import LimitReached


@dataclass(frozen=True, kw_only=True)
class HoldLimits:
    overall: int  # 0: no limit
    per_resource: int  # for resources without their own limit; 0: no limit

    def of(self, res: Resource) -> int:
        """The most open holds one customer may have on `res` (0: no limit)."""
        return res.max_open_holds_per_customer or self.per_resource

    @property
    def active(self) -> bool:
        return bool(self.overall or self.per_resource)


@dataclass(frozen=True, kw_only=True)
class OnResource:
    """What a request would add on one resource: `adding` holds to the customer's `open`."""

    resource_id: uuid.UUID
    open: int
    adding: int
    most: int  # 0: no limit


def check_open_holds(
    open_total: int, adding: int, most_total: int, on: Iterable[OnResource], field: str
) -> None:
    """Raise `LimitReached` naming the limit when the customer's open holds (`open_total`, and
    per resource) plus the ones asked for would pass a limit."""
    pay_first = "complete or release some of them first"
    if most_total and open_total + adding > most_total:
        raise LimitReached(
            f"you have {open_total} open holds or requests and ask for {adding} more; one "
            f"customer may have at most {most_total} at once: {pay_first}",
            field=field,
            limit="max_open_holds",
            max=most_total,
            open=open_total,
        )
    for r in on:
        if r.most and r.open + r.adding > r.most:
            raise LimitReached(
                f"you have {r.open} open holds or requests on this resource and ask for "
                f"{r.adding} more; one customer may have at most {r.most} on it at once: "
                f"{pay_first}",
                field=field,
                limit="max_open_holds_per_customer",
                max=r.most,
                open=r.open,
                resource_id=str(r.resource_id),
            )
