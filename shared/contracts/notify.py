"""Contracts of the notification service: `notify.v1.*` requests and replies.

The service sends no events of its own: it consumes the other services' (`evt.>`) and tells
residents (e-mail, SMS) and departments' systems (signed webhooks)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

Locale = Literal["fi", "sv", "en"]
Channel = Literal["email", "sms"]
MessageState = Literal["pending", "sent", "failed", "skipped"]
Limit = Annotated[int, msgspec.Meta(ge=1, le=500)]
Offset = Annotated[int, msgspec.Meta(ge=0)]
Email = Annotated[
    str, msgspec.Meta(max_length=254, pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+[1-9][0-9]{6,14}$")]  # E.164


class SetContactRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`notify.v1.set_contact`: where and in which language the signed-in resident is told,
    and whether they want reminders before their reservations."""

    email: Email | None = None
    phone: Phone | None = None
    locale: Locale = "fi"
    reminders: bool = True


class ContactView(msgspec.Struct, frozen=True, kw_only=True):
    customer: str
    email: str | None
    phone: str | None
    locale: Locale
    reminders: bool


class SeedContactRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`notify.v1.seed_contact` (the gateway at sign-in, on the person's behalf): the e-mail
    and language the sign-in's claims carry, kept only when the person has no contact details
    yet (what they chose themselves is never overwritten). Not routed over HTTP."""

    email: Email | None = None
    locale: Locale | None = None


class GetContactRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`notify.v1.get_contact`: the signed-in resident's own contact details."""


class CustomerMessagesRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """`notify.v1.customer_messages`: what was sent to a customer (staff see their
    departments' messages, admins all), newest first."""

    customer: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    limit: Limit = 100
    offset: Offset = 0


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    message_id: uuid.UUID
    event_id: uuid.UUID
    customer: str
    channel: Channel
    kind: str
    merchant_id: str
    locale: Locale
    address: str | None
    state: MessageState
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class MessageList(msgspec.Struct, frozen=True, kw_only=True):
    messages: list[MessageView]


class LocalizedFooter(msgspec.Struct, frozen=True, kw_only=True):
    fi: str = ""
    sv: str = ""
    en: str = ""


class DepartmentSender(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`notify.v1.set_department`: a department's sender, reply-to and footer (its staff or an
    admin)."""

    merchant_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    sender: Email
    sender_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    reply_to: Email | None = None
    footer: LocalizedFooter = msgspec.field(default_factory=LocalizedFooter)


class SetReminderHoursRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """`notify.v1.set_reminder_hours`: how many hours before its reservations a resource's
    reminders go (0: none for it; None: back to the service's NOTIFY_REMINDER_HOURS). Staff
    of the resource's department, or admin."""

    resource_id: uuid.UUID
    hours: Annotated[int, msgspec.Meta(ge=0, le=336)] | None = None


class ReminderHours(msgspec.Struct, frozen=True, kw_only=True):
    resource_id: uuid.UUID
    hours: int
    own: bool  # False: the service's default
