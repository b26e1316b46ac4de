"""Contact details from sign-in: the first time the gateway verifies a person's token (a
session cookie or a Bearer token: the moment they sign in), the e-mail and language their
claims carry become their contact details in the notification service (`notify.v1.seed_contact`),
unless they have details already: what a resident chose is never overwritten.

Done in a task of its own after the sign-in, so sign-in never waits for (or fails with) the
notification service: when it is down the details are simply not filled this time (the next
sign-in tries again). No address is logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services.gateway.clients import Services
from shared.contracts import notify as n
from shared.contracts.common import Principal, RequestContext
from shared.errors import ServiceError
from shared.messaging import new_request_id, subject_for

log = logging.getLogger(__name__)

SEED_CONTACT = subject_for("notify", "seed_contact")
MAX_PENDING = 256  # seedings in flight per process; past it a sign-in is not seeded


class ContactSeeder:
    """Fills a signing-in person's contact details from their claims, in the background."""

    def __init__(self, services: Callable[[], Services | None], timeout_s: float = 2.0) -> None:
        self._services = services
        self.timeout_s = timeout_s
        self._pending: set[asyncio.Task[n.ContactView | None]] = set()

    def signed_in(self, principal: Principal) -> None:
        """A person's token was verified for the first time: seed their details (no wait)."""
        if principal.kind != "user" or not principal.email or len(self._pending) >= MAX_PENDING:
            return
        task = asyncio.get_running_loop().create_task(self.seed(principal))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def seed(self, principal: Principal) -> n.ContactView | None:
        """The person's details after seeding, or None when notify could not be asked."""
        services = self._services()
        if services is None:
            return None
        locale = principal.locale if principal.locale in ("fi", "sv", "en") else None
        request = n.SeedContactRequest(email=principal.email, locale=locale)  # type: ignore[arg-type]
        ctx = RequestContext(principal=principal, request_id=new_request_id())
        try:
            return await services.call(
                SEED_CONTACT, request, n.ContactView, ctx=ctx, timeout=self.timeout_s
            )
        except ServiceError as exc:  # notify down, or a claim it does not accept
            log.info("contact details not filled at sign-in: %s", exc.code)
        except OSError as exc:
            log.info("contact details not filled at sign-in: %s", type(exc).__name__)
        return None

    async def close(self) -> None:
        """At shutdown: the seedings still asking notify are dropped (the next sign-in asks).
        A task of another event loop (a test client's) is cancelled in its own loop."""
        here = asyncio.get_running_loop()
        for task in list(self._pending):
            loop = task.get_loop()
            if loop is here:
                task.cancel()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)
        await self.wait()

    async def wait(self) -> None:
        """Until this loop's seedings in flight are done (tests, and a graceful stop)."""
        here = asyncio.get_running_loop()
        mine = [task for task in self._pending if task.get_loop() is here]
        if mine:
            await asyncio.gather(*mine, return_exceptions=True)
