"""The local provider's webhook deliveries, as a real provider makes them (Stripe, Paytrail):
an event is kept until the endpoint acknowledges it with a 2xx; a 5xx, a 408/425/429, a
timeout or a connection error is retried with growing pauses (in the background, by any
replica); a refusal (another 4xx) or an event older than the give-up age is given up (logged).

The charge is recorded first (the money is taken); whether its webhook got through at once
or only later never turns the resident's payment into a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import asyncpg

log = logging.getLogger(__name__)

Outcome = Literal["delivered", "retry", "refused"]
# Statuses of "not now" among the 4xx: the request timed out, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})
CLAIM_S = 60.0  # an attempt under way is not taken by another replica meanwhile


def outcome_of(status: int | None) -> Outcome:
    """What the endpoint's answer means for the delivery (None: no answer at all)."""
    if status is None:
        return "retry"
    if 200 <= status < 300:
        return "delivered"
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return "refused"
    return "retry"  # 5xx, 408/425/429, and anything that is not an answer to act on


@dataclass(frozen=True)
class DeliveryPolicy:
    backoff_s: float = 1.0  # the pause after the first failed attempt, doubled each time
    max_backoff_s: float = 300.0
    give_up_after_s: float = 72 * 3600.0  # Stripe redelivers for up to three days

    def pause(self, attempts: int) -> float:
        return min(self.backoff_s * 2.0 ** max(attempts - 1, 0), self.max_backoff_s)


# Sends one signed copy of the body; returns the endpoint's status, None when no answer came
# (timeout, connection refused or reset).
Send = Callable[[bytes], Awaitable[int | None]]


class WebhookDeliveries:
    def __init__(self, pool: asyncpg.Pool, send: Send, policy: DeliveryPolicy) -> None:
        self.pool = pool
        self.send = send
        self.policy = policy

    @staticmethod
    async def record(conn: asyncpg.Connection, event_id: str, body: bytes) -> None:
        """Keep an event to deliver (in the transaction that recorded the charge); the same
        event again is delivered again unless it was acknowledged."""
        await conn.execute(
            """INSERT INTO local_webhook_deliveries (event_id, body) VALUES ($1, $2)
               ON CONFLICT (event_id) DO UPDATE
               SET state = 'pending', next_attempt_at = now(), finished_at = NULL
               WHERE local_webhook_deliveries.state <> 'delivered'""",
            event_id,
            body,
        )

    async def attempt(self, event_id: str) -> Outcome | None:
        """Try one event now (the first attempt, right after the charge); None when it is
        delivered already or another attempt is under way."""
        row = await self.pool.fetchrow(
            """UPDATE local_webhook_deliveries
               SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
               WHERE event_id = $1 AND state = 'pending' AND next_attempt_at <= now()
               RETURNING *""",
            event_id,
            CLAIM_S,
        )
        return None if row is None else await self._deliver(row)

    async def redeliver_due(self, limit: int = 20) -> int:
        """The background loop's round: every event whose pause is over, claimed by one
        replica (the others skip it), sent with no transaction open."""
        rows = await self.pool.fetch(
            """UPDATE local_webhook_deliveries
               SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
               WHERE event_id IN (
                   SELECT event_id FROM local_webhook_deliveries
                   WHERE state = 'pending' AND next_attempt_at <= now()
                   ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
               RETURNING *""",
            limit,
            CLAIM_S,
        )
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: asyncpg.Record) -> Outcome:
        error = None
        try:
            status = await self.send(bytes(row["body"]))
        except Exception as exc:  # a transport or endpoint failure: never lose the event
            log.warning("local webhook %s: %s", row["event_id"], type(exc).__name__)
            status, error = None, type(exc).__name__
        outcome = outcome_of(status)
        if outcome == "delivered":
            await self._finish(row["event_id"], "delivered", status, None)
            return outcome
        age = await self.pool.fetchval(
            "SELECT extract(epoch FROM now() - $1::timestamptz)", row["created_at"]
        )
        if outcome == "refused" or float(age) >= self.policy.give_up_after_s:
            log.error(
                "local webhook %s given up after %d attempt(s) (last answer %s)",
                row["event_id"],
                row["attempts"],
                status or error,
            )
            await self._finish(row["event_id"], "given_up", status, error)
            return "refused"
        pause = self.policy.pause(row["attempts"])
        log.warning(
            "local webhook %s not acknowledged (%s); attempt %d, again in %.1f s",
            row["event_id"],
            status or error,
            row["attempts"],
            pause,
        )
        await self.pool.execute(
            """UPDATE local_webhook_deliveries SET last_status = $2, last_error = $3,
                   next_attempt_at = now() + make_interval(secs => $4)
               WHERE event_id = $1 AND state = 'pending'""",
            row["event_id"],
            status,
            error,
            pause,
        )
        return outcome

    async def _finish(
        self, event_id: str, state: str, status: int | None, error: str | None
    ) -> None:
        await self.pool.execute(
            """UPDATE local_webhook_deliveries SET state = $2, last_status = $3,
                   last_error = $4, finished_at = now()
               WHERE event_id = $1 AND state = 'pending'""",
            event_id,
            state,
            status,
            error,
        )
