"""Typed NATS clients the gateway's routes use (one Requester per process)."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client as NATS

from shared.contracts.common import Empty, Health, RequestContext
from shared.errors import ServiceError
from shared.messaging import Requester, subject_for

SERVICES = ("booking", "cart", "payment")


class Services:
    """The gateway's door to the services."""

    def __init__(self, nc: NATS, timeout: float) -> None:
        self.nc = nc
        self.requester = Requester(nc, timeout)

    async def health(self, timeout: float) -> dict[str, Health | ServiceError]:
        async def one(service: str) -> Health | ServiceError:
            try:
                return await self.requester.call(
                    subject_for(service, "health"),
                    Empty(),
                    Health,
                    ctx=RequestContext(),
                    timeout=timeout,
                )
            except ServiceError as exc:
                return exc

        results = await asyncio.gather(*(one(s) for s in SERVICES))
        return dict(zip(SERVICES, results, strict=True))
