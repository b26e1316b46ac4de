"""The delivery loop of the webhooks to integrators (every replica runs one).

Due deliveries are claimed for `webhook_claim_s` with `FOR UPDATE SKIP LOCKED` (only the
first pending one of each subscription and ordering key: a reservation's later event waits
for the earlier one), each POSTed in a task of its own with no transaction open, signed as the
Standard Webhooks specification says, with a short timeout. At most `webhook_concurrency` are
in flight per process, at most `webhook_per_subscription` of one subscription: a slow or down
receiver holds only its own few slots, the others' deliveries go on, and no service ever waits
for any of them (they only wrote an event).

Outcome: 2xx -> `delivered`; anything else (no connection, timeout, another status) -> tried
again after a back-off doubling from `webhook_retry_base_s` up to `webhook_retry_max_s`, until
`webhook_give_up_after_s` from the event (or the last replay), then `failed`. A delivery is
marked only after the receiver answered: a process killed in between sends it once more when
its claim runs out, with the same `webhook-id` (receivers deduplicate on it, as the
specification asks)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import asyncpg
import httpx

from services.notify import webhook_store as store
from services.notify.domain.webhooks import accepted, headers, retry_delay
from services.notify.settings import NotifySettings
from services.notify.webhook_metrics import POSTS

log = logging.getLogger(__name__)

COALESCE_S = 0.01


class WebhookSender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: NotifySettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.now = now
        self._wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        # Claimed by this process, per subscription, and its POSTs at once: each may have
        # `webhook_per_subscription` in flight and as many again times half the claim's
        # length in timeouts waiting (all sent within their claim even when all time out).
        self._claimed: Counter[uuid.UUID] = Counter()
        self._sending: dict[uuid.UUID, asyncio.Semaphore] = {}
        rounds = max(1, int(settings.webhook_claim_s / settings.webhook_timeout_s / 2))
        self.queue_limit = settings.webhook_per_subscription * rounds

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.webhook_timeout_s),
            follow_redirects=False,  # a receiver that moved says so with a new URL
            limits=httpx.Limits(max_connections=self.settings.webhook_concurrency),
        )

    async def post(
        self, client: httpx.AsyncClient, url: str, secret: str, msg_id: str, body: bytes
    ) -> tuple[int | None, str]:
        """POST one delivery; (status or None, what went wrong: no body, no URL)."""
        signed = headers(secret, msg_id, int(time.time()), body)
        try:
            async with client.stream("POST", url, content=body, headers=signed) as response:
                status = response.status_code  # the body is never read
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            return None, type(exc).__name__
        return status, "" if accepted(status) else f"HTTP {status}"

    async def _one(self, client: httpx.AsyncClient, row: asyncpg.Record) -> None:
        sending = self._sending.setdefault(
            row["subscription_id"], asyncio.Semaphore(self.settings.webhook_per_subscription)
        )
        async with sending:
            status, error = await self.post(
                client, row["url"], row["secret"], str(row["id"]), bytes(row["payload"])
            )
        try:
            await self._record(row, status, error)
        except (asyncpg.PostgresError, OSError) as exc:
            # The claim runs out and the delivery is sent again (the same webhook-id).
            log.warning("webhook delivery %s: outcome not recorded (%s)", row["id"], exc)

    async def _record(self, row: asyncpg.Record, status: int | None, error: str) -> None:
        async with self.pool.acquire() as conn:
            if accepted(status):
                assert status is not None
                await store.mark_delivered(conn, row["id"], status)
                POSTS.labels("delivered").inc()
                return
            tried_for = (self.now() - row["retry_from"]).total_seconds()
            if tried_for >= self.settings.webhook_give_up_after_s:
                log.warning(
                    "webhook delivery %s (subscription %s) given up after %d tries",
                    row["id"], row["subscription_id"], row["attempts"],
                )  # fmt: skip
                await store.mark_failed(conn, row["id"], status, f"gave up: {error}")
                POSTS.labels("failed").inc()
                return
            delay = retry_delay(
                row["attempts"],
                self.settings.webhook_retry_base_s,
                self.settings.webhook_retry_max_s,
            )
            log.info(
                "webhook delivery %s (subscription %s): try %d failed (%s); again in %.1f s",
                row["id"], row["subscription_id"], row["attempts"], error, delay,
            )  # fmt: skip
            await store.mark_retry(conn, row["id"], delay, status, error)
            POSTS.labels("retry").inc()

    def _finished(self, task: asyncio.Task[None], subscription_id: uuid.UUID) -> None:
        self._in_flight.discard(task)
        self._claimed[subscription_id] -= 1
        if self._claimed[subscription_id] <= 0:
            del self._claimed[subscription_id]
            self._sending.pop(subscription_id, None)
        self._wakeup.set()  # a slot is free, and the next delivery of its key may be due
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery task failed", exc_info=task.exception())

    async def start_due(self, client: httpx.AsyncClient) -> tuple[int, int]:
        """Claim as many due deliveries as there are free slots and start them; (claimed,
        asked for)."""
        free = self.settings.webhook_concurrency - len(self._in_flight)
        wanted = min(self.settings.webhook_batch, free)
        if wanted <= 0:
            return 0, 0
        room = {s: self.queue_limit - n for s, n in self._claimed.items()}
        async with self.pool.acquire() as conn:
            rows = await store.claim_due(
                conn, wanted, self.settings.webhook_claim_s, self.queue_limit, room
            )
        for row in rows:
            task = asyncio.create_task(self._one(client, row))
            self._in_flight.add(task)
            self._claimed[row["subscription_id"]] += 1
            task.add_done_callback(partial(self._finished, subscription_id=row["subscription_id"]))
        return len(rows), wanted

    def _notified(self, *_: Any) -> None:
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until stopped: at once on NOTIFY (a delivery was written or replayed) and
        when a delivery ends, else every `poll_interval_s` (retries coming due)."""
        listener = await self.pool.acquire()
        try:
            await listener.add_listener(store.CHANNEL, self._notified)
            async with self._client() as client:
                try:
                    await self._loop(client, stop)
                finally:
                    # The deliveries in flight end within the timeout; then they are recorded.
                    if self._in_flight:
                        await asyncio.gather(*self._in_flight, return_exceptions=True)
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(store.CHANNEL, self._notified)
            await self.pool.release(listener)

    async def _loop(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wakeup.clear()
            try:
                claimed, wanted = await self.start_due(client)
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("webhook sender: %s; retrying", type(exc).__name__)
                claimed, wanted = 0, 0
            if wanted and claimed == wanted:
                continue  # maybe more due, and slots left
            waiters = [
                asyncio.ensure_future(self._wakeup.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            _, pending = await asyncio.wait(
                waiters,
                timeout=self.settings.poll_interval_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for waiter in pending:
                waiter.cancel()
            if self._wakeup.is_set() and not stop.is_set():
                await asyncio.sleep(COALESCE_S)  # one claim for the wake-ups close together
