"""Typed NATS clients the gateway's routes (and the web pages) use.

`Call(subject, RequestType, ReplyType)` is one operation of a service as the gateway calls it:
`await GET_PAYMENT(request, GetPaymentRequest(payment_id=...))` is the service's `PaymentView`
sent on behalf of the request's caller (its principal, request id and trace context), or the
service's `ServiceError` (no responders / timeout -> `Unavailable`, shown as 503 with
Retry-After). The routes declare their operations this way, and a test compares each one's
types with what the service answers (tests/unit/gateway/test_route_contracts.py).

Underneath, `services_of(request).call("booking.v1.hold", HoldRequest(...), HoldReply,
ctx=auth.context_of(request))` does the same for any subject.

The NATS connection (and the rate limiter on top of it) is made per event loop on first use:
granian runs the lifespan and the requests in one loop, Litestar's AsyncTestClient runs the
lifespan in a thread of its own, and a nats-py connection only works in the loop that made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from litestar.connection import ASGIConnection
from nats.aio.client import Client as NATS

from services.gateway.auth import context_of
from services.gateway.ratelimit import SharedRateLimiter
from shared.contracts.common import Empty, Health, RequestContext
from shared.errors import ServiceError
from shared.messaging import Requester, subject_for

log = logging.getLogger(__name__)

SERVICES = ("booking", "cart", "payment", "insights", "audit", "notify")

Req = TypeVar("Req")
Rep = TypeVar("Rep")


@dataclass
class LoopResources:
    nc: NATS
    requester: Requester
    limiter: SharedRateLimiter | None


Connect = Callable[[], Awaitable[NATS]]
MakeLimiter = Callable[[NATS], Awaitable[SharedRateLimiter | None]]


class Services:
    """The gateway's door to the services."""

    def __init__(self, connect: Connect, timeout: float, make_limiter: MakeLimiter) -> None:
        self._connect = connect
        self._make_limiter = make_limiter
        self.timeout = timeout
        self._by_loop: dict[asyncio.AbstractEventLoop, LoopResources] = {}
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    async def resources(self) -> LoopResources:
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is not None:
            return found
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            if loop not in self._by_loop:
                nc = await self._connect()
                limiter = await self._make_limiter(nc)
                self._by_loop[loop] = LoopResources(nc, Requester(nc, self.timeout), limiter)
        return self._by_loop[loop]

    async def call(
        self,
        subject: str,
        request: Any,
        reply_type: type[Rep],
        *,
        ctx: RequestContext,
        timeout: float | None = None,
    ) -> Rep:
        """One operation of a service on behalf of `ctx.principal`."""
        requester = (await self.resources()).requester
        return await requester.call(subject, request, reply_type, ctx=ctx, timeout=timeout)

    async def is_connected(self) -> bool:
        return (await self.resources()).nc.is_connected

    async def health(self, timeout: float) -> dict[str, Health | ServiceError]:
        async def one(service: str) -> Health | ServiceError:
            try:
                return await self.call(
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

    async def close(self) -> None:
        current = asyncio.get_running_loop()
        for loop, found in list(self._by_loop.items()):
            if loop is current:
                if found.limiter is not None:
                    await found.limiter.close()
                with contextlib.suppress(Exception):
                    await found.nc.drain()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(_close_later, found)
        self._by_loop.clear()


def _close_later(found: LoopResources) -> None:
    async def close() -> None:
        if found.limiter is not None:
            await found.limiter.close()
        with contextlib.suppress(Exception):
            await found.nc.close()

    task = asyncio.get_running_loop().create_task(close())
    _pending.add(task)
    task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task[None]] = set()


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    """The app's `Services` (made by the app's lifespan)."""
    services: Services = connection.app.state.services
    return services


@dataclass(frozen=True)
class Call(Generic[Req, Rep]):
    """One operation of a service: `subject` takes a `request` and replies a `reply`."""

    subject: str
    request: type[Req]
    reply: type[Rep]

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], body: Req) -> Rep:
        """The service's reply to `body`, on behalf of the connection's caller."""
        return await services_of(connection).call(
            self.subject, body, self.reply, ctx=context_of(connection)
        )
