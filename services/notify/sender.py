"""Sending the recorded messages: claim the due ones (`FOR UPDATE SKIP LOCKED`, a claim of
`claim_s` so replicas share the work), write and send each with no transaction open, then
record the outcome: sent, tried again after the back-off (mail server down, 4xx, booking not
answering), or failed for good (5xx, or still not sent `give_up_after_s` after the event).

A message is marked sent only after the mail server accepted it; a process that dies between
the two sends it once more when its claim runs out (the same Message-ID)."""

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
from services.notify.mailer import Mailer, SendResult
from services.notify.order_mail import ORDER_KINDS, NoLink, OrderMails
from services.notify.render import CALENDAR_METHOD, Sender, Writer
from services.notify.settings import NotifySettings
from services.notify.texts import Language
from shared.errors import NotFound, ServiceError

log = logging.getLogger(__name__)

CHANNEL = "notify_messages"


class EmailSender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        mailer: Mailer,
        writer: Writer,
        details: BookingDetails,
        translations: dict[str, Any],
        settings: NotifySettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        order_mails: OrderMails | None = None,
    ) -> None:
        self.pool = pool
        self.mailer = mailer
        self.writer = writer
        self.details = details
        self.translations = translations
        self.settings = settings
        self.delays = settings.retry_delays()
        self.now = now
        self.order_mails = order_mails  # orders paid, refunds, library, GIS (order_mail.py)
        self.default_sender = Sender(address=settings.sender, name=settings.sender_name)
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrency)

    async def send_due(self) -> int:
        """One round: claim a batch and send it; the number claimed."""
        async with self.pool.acquire() as conn:
            rows = await store.claim_due(conn, "email", self.settings.batch, self.settings.claim_s)
        if rows:
            await asyncio.gather(*(self._one(row) for row in rows))
        return len(rows)

    async def _one(self, row: asyncpg.Record) -> None:
        async with self._slots:
            try:
                result = await self._send(row)
            except (ServiceError, OSError, TimeoutError) as exc:
                # booking did not answer (or said something unexpected): try again later
                result = SendResult("transient", None, f"details: {type(exc).__name__}")
            except asyncpg.PostgresError as exc:
                result = SendResult("transient", None, f"database: {type(exc).__name__}")
        await self._record(row, result)

    async def _send(self, row: asyncpg.Record) -> SendResult:
        data = row["data"]
        async with self.pool.acquire() as conn:
            sender = await store.sender(conn, row["merchant_id"]) or self.default_sender
        if self.order_mails is not None and row["kind"] in ORDER_KINDS:
            return await self._send_order_mail(row, sender)
        try:
            details = await self.details.reservation(
                uuid.UUID(data["reservation_id"]),
                uuid.UUID(data["resource_id"]),
                datetime.fromisoformat(data["starts_at"]),
                datetime.fromisoformat(data["ends_at"]),
                with_calendar=row["kind"] in CALENDAR_METHOD,
            )
        except NotFound:
            return SendResult("permanent", None, "reservation or resource not found")
        lang = Language(row["locale"], self.translations[row["locale"]], details.tz)
        mail = self.writer.reservation_email(
            message_id=row["id"],
            kind=row["kind"],
            to=row["address"],
            lang=lang,
            sender=sender,
            details=details,
            data=data,
            now=self.now(),
        )
        return await self.mailer.send(mail)

    async def _send_order_mail(self, row: asyncpg.Record, sender: Sender) -> SendResult:
        assert self.order_mails is not None
        try:
            mail = await self.order_mails.write(
                message_id=row["id"], kind=row["kind"], to=row["address"],
                locale=row["locale"], sender=sender, data=row["data"], now=self.now(),
            )  # fmt: skip
        except NoLink:
            return SendResult("permanent", None, "the file's download is no longer there")
        return await self.mailer.send(mail)

    async def _record(self, row: asyncpg.Record, result: SendResult) -> None:
        error = f"{result.code or ''} {result.detail}".strip()
        async with self.pool.acquire() as conn:
            if result.outcome == "accepted":
                await store.mark_sent(conn, row["id"])
            elif result.outcome == "permanent":
                log.warning("message %s refused for good (%s)", row["id"], result.code)
                await store.mark_failed(conn, row["id"], error)
            elif (self.now() - row["created_at"]).total_seconds() >= self.settings.give_up_after_s:
                log.warning("message %s given up after %d tries", row["id"], row["attempts"])
                await store.mark_failed(conn, row["id"], f"gave up: {error}")
            else:
                delay = retry_delay(row["attempts"], self.delays)
                log.info("message %s: try %d failed (%s)", row["id"], row["attempts"], error)
                await store.mark_retry(conn, row["id"], delay, error)

    def _notified(self, *_: Any) -> None:
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until stopped: at once on NOTIFY (a consumer committed a message), else every
        `poll_interval_s` (retries coming due, notifications lost while disconnected)."""
        listener = await self.pool.acquire()
        try:
            await listener.add_listener(CHANNEL, self._notified)
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    claimed = await self.send_due()
                except (asyncpg.PostgresError, OSError) as exc:
                    log.warning("e-mail sender: %s; retrying", type(exc).__name__)
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
