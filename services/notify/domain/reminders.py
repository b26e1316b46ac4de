"""Which SMS and reminders a resident gets: pure rules, no I/O.

SMS go only to residents with a phone number, and only for the kinds where a text message
helps (a confirmation, a reminder); a reminder respects the resident's opt-out, on every
channel. A reminder is due `hours` before the reservation starts; it is not sent when the
resource has reminders off (0 hours), when the reservation was booked inside that time (the
confirmation just told them), or when it has already started (the service was away)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from services.notify.domain.model import Recipient

# kind -> whether the resident may opt out of it (the `reminders` choice)
SMS_KINDS = {"reservation_confirmed": False, "reminder": True}

REMINDER_NAMESPACE = uuid.UUID("5b0a53c4-6d1e-4c55-9d4f-2a7b8e1f0c93")

SmsDecision = Literal["none", "send", "opted_out"]


def sms_decision(kind: str, recipient: Recipient | None) -> SmsDecision:
    """`none`: no SMS row at all (not an SMS kind, or no phone number); `opted_out`: a
    `skipped` row staff can see; `send`: a pending row."""
    if kind not in SMS_KINDS or recipient is None or not recipient.phone:
        return "none"
    if SMS_KINDS[kind] and not recipient.reminders:
        return "opted_out"
    return "send"


def reminder_skip_reason(
    starts_at: datetime, confirmed_at: datetime, hours: int, now: datetime
) -> str | None:
    """Why a due reminder is not sent (None: it is)."""
    if hours <= 0:
        return "no reminders for this resource"
    if starts_at <= now:
        return "the reservation had started"
    if confirmed_at >= starts_at - timedelta(hours=hours):
        return "booked within the reminder time"
    return None


def reminder_event_id(reservation_id: uuid.UUID) -> uuid.UUID:
    """The id a reservation's reminder messages are recorded under: the same every time, so
    the messages' unique key gives one reminder per reservation, channel and resident."""
    return uuid.uuid5(REMINDER_NAMESPACE, str(reservation_id))
