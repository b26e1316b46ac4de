"""Sending the recorded `sms` messages, as the e-mail sender does (sender.py): claim the due
ones (`FOR UPDATE SKIP LOCKED`, every replica), write and send each with no transaction open,
then record the outcome: sent, tried again after the same back-off (gateway down, 5xx, 408/429,
booking not answering), or failed for good (4xx, or not sent `give_up_after_s` after the
event). Logs name the message id only: never the number or the text."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.notify import store
from services.notify.details import BookingDetails
from services.notify.domain.model import retry_delay
from services.notify.mailer import SendResult
from services.notify.settings import NotifySettings
from services.notify.sms.base import Sms, SmsProvider
from services.notify.sms.text import sms_text
from services.notify.texts import Language
from shared.errors import NotFound, ServiceError

log = logging.getLogger(__name__)

CHANNEL = "notify_messages"  # the consumers' NOTIFY (payload: the message's channel)


class SmsSender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        provider: SmsProvider,
        details: BookingDetails,
        translations: dict[str, Any],
        settings: NotifySettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.provider = provider
        self.details = details
        self.translations = translations
        self.settings = settings
        self.delays = settings.retry_delays()
        self.now = now
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrency)

    async def send_due(self) -> int:
        async with self.pool.acquire() as conn:
            rows = await store.claim_due(conn, "sms", self.settings.batch, self.settings.claim_s)
        if rows:
            await asyncio.gather(*(self._one(row) for row in rows))
        return len(rows)

    async def _one(self, row: asyncpg.Record) -> None:
        async with self._slots:
            try:
                result = await self._send(row)
            except (ServiceError, OSError, TimeoutError) as exc:
                result = SendResult("transient", None, f"details: {type(exc).__name__}")
            except asyncpg.PostgresError as exc:
                result = SendResult("transient", None, f"database: {type(exc).__name__}")
        await self._record(row, result)

    async def _send(self, row: asyncpg.Record) -> SendResult:
        data = row["data"]
        try:
            details = await self.details.reservation(
                uuid.UUID(data["reservation_id"]),
                uuid.UUID(data["resource_id"]),
                datetime.fromisoformat(data["starts_at"]),
                datetime.fromisoformat(data["ends_at"]),
                with_calendar=False,
            )
        except NotFound:
            return SendResult("permanent", None, "reservation or resource not found")
        lang = Language(row["locale"], self.translations[row["locale"]], details.tz)
        body = sms_text(row["kind"], lang, details)
        sms = Sms(row["id"], row["address"], body, self.settings.sms_sender)
        return await self.provider.send(sms)

    async def _record(self, row: asyncpg.Record, result: SendResult) -> None:
        error = f"{result.code or ''} {result.detail}".strip()
        async with self.pool.acquire() as conn:
            if result.outcome == "accepted":
                await store.mark_sent(conn, row["id"])
            elif result.outcome == "permanent":
                log.warning("sms %s refused for good (%s)", row["id"], result.code)
                await store.mark_failed(conn, row["id"], error)
            elif (self.now() - row["created_at"]).total_seconds() >= self.settings.give_up_after_s:
                log.warning("sms %s given up after %d tries", row["id"], row["attempts"])
                await store.mark_failed(conn, row["id"], f"gave up: {error}")
            else:
                log.info("sms %s: try %d failed (%s)", row["id"], row["attempts"], error)
                delay = retry_delay(row["attempts"], self.delays)
                await store.mark_retry(conn, row["id"], delay, error)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == "sms":
            self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until stopped: at once on NOTIFY 'sms', else every `poll_interval_s`."""
        listener = await self.pool.acquire()
        try:
            await listener.add_listener(CHANNEL, self._notified)
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    claimed = await self.send_due()
                except (asyncpg.PostgresError, OSError) as exc:
                    log.warning("sms sender: %s; retrying", type(exc).__name__)
                    claimed = 0
                if claimed >= self.settings.batch:
                    continue
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
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(CHANNEL, self._notified)
            await self.pool.release(listener)
            await self.provider.close()
