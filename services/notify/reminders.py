"""Reminders N hours before a reservation: booking's confirmations schedule one (a row per
reservation), cancellations call it off; every replica looks for due ones each
`reminder_interval_s` and, in one transaction with the reminders locked (`FOR UPDATE SKIP
LOCKED`), records their e-mail and SMS messages and marks them sent. The senders send those
like any other message. The hours are the resource's own (`set_reminder_hours`, staff of its
department) or NOTIFY_REMINDER_HOURS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from services.notify import reminders_store as rstore
from services.notify.domain.reminders import reminder_event_id, reminder_skip_reason
from services.notify.orders import tell
from services.notify.sms.messages import add_sms
from shared.contracts import booking as b
from shared.retention import Retention

log = logging.getLogger(__name__)

# Reminders once sent, skipped or cancelled (RETENTION_NOTIFY_REMINDERS_DAYS), and what the
# development SMS provider kept (RETENTION_NOTIFY_DEV_SMS_DAYS).
FINISHED_REMINDERS = Retention(
    "notify_reminders", "reminders", "updated_at", 35.0, where="state <> 'scheduled'"
)
DEV_SMS = Retention("notify_dev_sms", "dev_sms", "created_at", 7.0)


async def on_reservation(conn: asyncpg.Connection, event: b.ReservationEvent) -> None:
    """Schedule (confirmed) or call off (cancelled) the reservation's reminder, in the
    event's inbox transaction."""
    if isinstance(event, b.ReservationConfirmed):
        await rstore.schedule(
            conn, reservation_id=event.reservation_id, resource_id=event.resource_id,
            customer=event.customer, merchant_id=event.merchant_id, starts_at=event.starts_at,
            ends_at=event.ends_at, confirmed_at=event.occurred_at, sequence=event.sequence,
        )  # fmt: skip
    elif isinstance(event, b.ReservationCancelled) and event.state == "cancelled":
        await rstore.cancel(
            conn, reservation_id=event.reservation_id, resource_id=event.resource_id,
            customer=event.customer, merchant_id=event.merchant_id, starts_at=event.starts_at,
            ends_at=event.ends_at, occurred_at=event.occurred_at, sequence=event.sequence,
        )  # fmt: skip


async def remind(conn: asyncpg.Connection, row: asyncpg.Record, now: datetime) -> bool:
    """Record one due reminder's messages (or why there are none); True when sent."""
    reason = reminder_skip_reason(row["starts_at"], row["confirmed_at"], row["hours"], now)
    if reason is not None:
        await rstore.finish(conn, row["reservation_id"], "skipped", reason)
        return False
    event_id = reminder_event_id(row["reservation_id"])
    data: dict[str, object] = {
        "reservation_id": str(row["reservation_id"]),
        "resource_id": str(row["resource_id"]),
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
    }
    recipient = await tell(conn, event_id, row["customer"], "reminder", row["merchant_id"], data)
    await add_sms(
        conn,
        event_id=event_id,
        kind="reminder",
        customer=row["customer"],
        merchant_id=row["merchant_id"],
        recipient=recipient,
        data=data,
    )
    await rstore.finish(conn, row["reservation_id"], "sent", None)
    return True


class Reminders:
    def __init__(
        self,
        pool: asyncpg.Pool,
        default_hours: int,
        interval_s: float,
        batch: int = 200,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.default_hours = default_hours
        self.interval_s = interval_s
        self.batch = batch
        self.now = now

    async def remind_due(self) -> int:
        """One round: the due reminders of one batch, in one transaction; how many there were."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await rstore.claim_due(conn, self.default_hours, self.batch)
            now = self.now()
            for row in rows:
                await remind(conn, row, now)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                found = await self.remind_due()
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("reminders: %s; retrying", type(exc).__name__)
                found = 0
            if found >= self.batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
