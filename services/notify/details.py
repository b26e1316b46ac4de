"""What booking tells about a reservation for writing about it: the resource's and the unit's
names and zone (`booking.v1.get_resource`, kept `details_ttl_s`) and its `.ics`
(`booking.v1.reservation_ics`), asked as this service's system principal."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from services.notify.render import ReservationDetails
from shared.contracts import booking as b
from shared.contracts.common import RequestContext, system_principal
from shared.messaging import Requester, current_context, subject_for

GET_RESOURCE = subject_for("booking", "get_resource")
RESERVATION_ICS = subject_for("booking", "reservation_ics")


def _names(text: b.LocalizedText) -> dict[str, str]:
    return {k: v for k, v in (("fi", text.fi), ("sv", text.sv), ("en", text.en)) if v}


class BookingDetails:
    def __init__(self, requester: Requester, ttl_s: float = 30.0) -> None:
        self.requester = requester
        self.ttl_s = ttl_s
        self._resources: dict[uuid.UUID, tuple[float, b.ResourceSettings]] = {}

    def _ctx(self) -> RequestContext:
        current = current_context.get()
        return RequestContext(
            principal=system_principal("notify"),
            request_id=current.request_id if current else "",
            traceparent=current.traceparent if current else None,
        )

    async def resource(self, resource_id: uuid.UUID) -> b.ResourceSettings:
        kept = self._resources.get(resource_id)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        found = await self.requester.call(
            GET_RESOURCE, b.ResourceRef(resource_id=resource_id), b.ResourceSettings,
            ctx=self._ctx(),
        )  # fmt: skip
        self._resources[resource_id] = (time.monotonic() + self.ttl_s, found)
        return found

    async def reservation(
        self,
        reservation_id: uuid.UUID,
        resource_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
        *,
        with_calendar: bool,
    ) -> ReservationDetails:
        res = await self.resource(resource_id)
        ics = None
        if with_calendar:
            text = await self.requester.call(
                RESERVATION_ICS, b.ReservationIcsRequest(reservation_id=reservation_id),
                b.CalendarText, ctx=self._ctx(),
            )  # fmt: skip
            ics = text.text
        return ReservationDetails(
            reservation_id=reservation_id,
            resource_name=_names(res.settings.name),
            unit_name=_names(res.unit_name),
            tz=res.tz,
            starts_at=starts_at,
            ends_at=ends_at,
            ics=ics,
        )
