"""Pure rules of SMS and reminders: who gets an SMS, when a reminder is not sent, what an SMS
gateway's answers mean, the SMS texts in each language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.model import Recipient
from services.notify.domain.reminders import (
    reminder_event_id,
    reminder_skip_reason,
    sms_decision,
)
from services.notify.render import ReservationDetails
from services.notify.sms.base import http_outcome
from services.notify.sms.text import sms_text
from services.notify.texts import Language, load

WITH_PHONE = Recipient("r", "r@example.fi", "+358401234567", "fi", reminders=True)
OPTED_OUT = Recipient("r", "r@example.fi", "+358401234567", "fi", reminders=False)
NO_PHONE = Recipient("r", "r@example.fi", None, "fi", reminders=True)


def test_sms_only_with_a_phone_and_for_confirmations_and_reminders() -> None:
    assert sms_decision("reservation_confirmed", WITH_PHONE) == "send"
    assert sms_decision("reminder", WITH_PHONE) == "send"
    assert sms_decision("reservation_cancelled", WITH_PHONE) == "none"
    assert sms_decision("reservation_confirmed", NO_PHONE) == "none"
    assert sms_decision("reminder", None) == "none"


def test_opting_out_of_reminders_keeps_the_confirmation_sms() -> None:
    assert sms_decision("reminder", OPTED_OUT) == "opted_out"
    assert sms_decision("reservation_confirmed", OPTED_OUT) == "send"


START = datetime(2026, 12, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("confirmed_before_h", "hours", "now_before_h", "reason"),
    [(72, 24, 23, None),
     (72, 0, 1, "no reminders for this resource"),
     (72, 24, 0, "the reservation had started"),
     (72, 24, -1, "the reservation had started"),
     (10, 24, 9, "booked within the reminder time"),
     (24, 24, 23, "booked within the reminder time")],
)  # fmt: skip
def test_when_a_due_reminder_is_not_sent(
    confirmed_before_h: int, hours: int, now_before_h: int, reason: str | None
) -> None:
    confirmed = START - timedelta(hours=confirmed_before_h)
    now = START - timedelta(hours=now_before_h)
    assert reminder_skip_reason(START, confirmed, hours, now) == reason


def test_a_reservations_reminders_share_one_event_id() -> None:
    rid = uuid.uuid4()
    assert reminder_event_id(rid) == reminder_event_id(rid)
    assert reminder_event_id(rid) != reminder_event_id(uuid.uuid4())


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(None, "transient"), (200, "accepted"), (202, "accepted"), (400, "permanent"),
     (403, "permanent"), (404, "permanent"), (408, "transient"), (429, "transient"),
     (500, "transient"), (504, "transient")],
)  # fmt: skip
def test_gateway_answers_mean_accepted_try_again_or_refused(
    status: int | None, outcome: str
) -> None:
    assert http_outcome(status).outcome == outcome


@pytest.mark.parametrize(
    ("lang", "text"),
    [("fi", "Muistutus: Sali, Halli, 20.12.2026 10.00–11.00. Varausnumero 12345678."),
     ("sv", "Påminnelse: Sal, Hall, 20.12.2026 10.00–11.00. Bokningsnummer 12345678."),
     ("en", "Reminder: Hall A, Halli, 20/12/2026 10:00–11:00. Booking number 12345678.")],
)  # fmt: skip
def test_sms_text_in_each_language_in_the_units_zone(lang: str, text: str) -> None:
    details = ReservationDetails(
        reservation_id=uuid.UUID("12345678-0000-4000-8000-000000000000"),
        resource_name={"fi": "Sali", "sv": "Sal", "en": "Hall A"},
        unit_name={"fi": "Halli", "sv": "Hall"},
        tz="Europe/Helsinki",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
    )
    language = Language(lang, load()[lang], details.tz)
    assert sms_text("reminder", language, details) == text
