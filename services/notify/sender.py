"""Sending the recorded messages, one loop for every channel (`MessageSender`, e-mail and SMS
alike): claim the due ones of its channel (`FOR UPDATE SKIP LOCKED`, a claim of `claim_s` so
replicas share the work), write and send each through the channel's transport with no
transaction open, then record the outcome: sent, tried again after the back-off (mail server
or SMS gateway down, SMTP 4xx, SMS 5xx/408/429, booking not answering), or failed for good
(SMTP 5xx, SMS other 4xx, or still not sent `give_up_after_s` after the event).

A message is marked sent only after the server accepted it; a process that dies between the
two sends it once more when its claim runs out (the same Message-ID, the same SMS idempotency
key). Logs name the message id only: never the address, the number or the text.

The transports: `EmailTransport` here (aiosmtplib, mailer.py), `SmsTransport` (sms/sender.py,
the configured SMS provider)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

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

CHANNEL = "notify_messages"  # the consumers' NOTIFY (payload: the message's channel)


class Transport(Protocol):
    """Writes and sends one claimed message of its channel."""

    channel: str  # the messages' `channel`: "email", "sms"
    noun: str  # what the logs call one: "message", "sms"

    async def send(self, row: asyncpg.Record) -> SendResult: ...

    async def close(self) -> None: ...


class MessageSender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        transport: Transport,
        settings: NotifySettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.transport = transport
        self.settings = settings
        self.delays = settings.retry_delays()
        self.now = now
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrency)

    async def send_due(self) -> int:
        """One round: claim a batch and send it; the number claimed."""
        channel, s = self.transport.channel, self.settings
        async with self.pool.acquire() as conn:
            rows = await store.claim_due(conn, channel, s.batch, s.claim_s)
        if rows:
            await asyncio.gather(*(self._one(row) for row in rows))
        return len(rows)

    async def _one(self, row: asyncpg.Record) -> None:
        async with self._slots:
            try:
                result = await self.transport.send(row)
            except (ServiceError, OSError, TimeoutError) as exc:
                # booking did not answer (or said something unexpected): try again later
                result = SendResult("transient", None, f"details: {type(exc).__name__}")
            except asyncpg.PostgresError as exc:
                result = SendResult("transient", None, f"database: {type(exc).__name__}")
        await self._record(row, result)

    async def _record(self, row: asyncpg.Record, result: SendResult) -> None:
        error = f"{result.code or ''} {result.detail}".strip()
        noun = self.transport.noun
        async with self.pool.acquire() as conn:
            if result.outcome == "accepted":
                await store.mark_sent(conn, row["id"])
            elif result.outcome == "permanent":
                log.warning("%s %s refused for good (%s)", noun, row["id"], result.code)
                await store.mark_failed(conn, row["id"], error)
            elif (self.now() - row["created_at"]).total_seconds() >= self.settings.give_up_after_s:
                log.warning("%s %s given up after %d tries", noun, row["id"], row["attempts"])
                await store.mark_failed(conn, row["id"], f"gave up: {error}")
            else:
                delay = retry_delay(row["attempts"], self.delays)
                log.info("%s %s: try %d failed (%s)", noun, row["id"], row["attempts"], error)
                await store.mark_retry(conn, row["id"], delay, error)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload in ("", self.transport.channel):
            self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until stopped: at once on NOTIFY of its channel (a consumer committed a
        message), else every `poll_interval_s` (retries coming due, notifications lost while
        disconnected)."""
        listener = await self.pool.acquire()
        try:
            await listener.add_listener(CHANNEL, self._notified)
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    claimed = await self.send_due()
                except (asyncpg.PostgresError, OSError) as exc:
                    channel = self.transport.channel
                    log.warning("%s sender: %s; retrying", channel, type(exc).__name__)
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
            await self.transport.close()


class EmailTransport:
    """E-mail over SMTP: the reservations' mails with booking's details (and `.ics`), the
    orders' through `order_mails`; from the department's sender, else the city's."""

    channel = "email"
    noun = "message"

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
        self.now = now
        self.order_mails = order_mails  # orders paid, refunds, library, GIS (order_mail.py)
        self.default_sender = Sender(address=settings.sender, name=settings.sender_name)

    async def send(self, row: asyncpg.Record) -> SendResult:
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
            customer=row["customer"],
        )
        return await self.mailer.send(mail)

    async def _send_order_mail(self, row: asyncpg.Record, sender: Sender) -> SendResult:
        assert self.order_mails is not None
        try:
            mail = await self.order_mails.write(
                message_id=row["id"], kind=row["kind"], to=row["address"],
                locale=row["locale"], sender=sender, data=row["data"], now=self.now(),
                customer=row["customer"],
            )  # fmt: skip
        except NoLink:
            return SendResult("permanent", None, "the file's download is no longer there")
        return await self.mailer.send(mail)

    async def close(self) -> None:
        """The SMTP connections kept open for the next mails are closed."""
        await self.mailer.close()
