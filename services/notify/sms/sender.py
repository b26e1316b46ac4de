"""The SMS transport of the message sender (services/notify/sender.py `MessageSender`, the same
claims, back-off and outcomes as the e-mails'): a reservation's text in the resident's
language, through the configured SMS provider (its HTTP status decides: 5xx, 408/429 and no
answer are tried again, any other 4xx fails for good)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.notify.details import BookingDetails
from services.notify.mailer import SendResult
from services.notify.sms.base import Sms, SmsProvider
from services.notify.sms.text import sms_text
from services.notify.texts import Language
from shared.errors import NotFound


class SmsTransport:
    channel = "sms"
    noun = "sms"

    def __init__(
        self,
        provider: SmsProvider,
        details: BookingDetails,
        translations: dict[str, Any],
        sms_sender: str,
    ) -> None:
        self.provider = provider
        self.details = details
        self.translations = translations
        self.sms_sender = sms_sender

    async def send(self, row: asyncpg.Record) -> SendResult:
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
        return await self.provider.send(Sms(row["id"], row["address"], body, self.sms_sender))

    async def close(self) -> None:
        await self.provider.close()
