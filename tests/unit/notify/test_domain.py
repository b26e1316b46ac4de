"""The notification service's pure rules: SMTP answers, back-off, the message table, texts."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
from babel.messages.pofile import read_po

from services.notify.domain.model import (
    MESSAGES,
    Recipient,
    email_skip_reason,
    retry_delay,
    smtp_outcome,
)
from services.notify.render import calendar_invitation
from services.notify.texts import CATALOGUES, Language, load
from shared.errors import Conflict


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(None, "transient"), (421, "transient"), (451, "transient"), (250, "accepted"),
     (550, "permanent"), (554, "permanent")],
)  # fmt: skip
def test_smtp_answers_mean_try_again_or_give_up(code: int | None, outcome: str) -> None:
    assert smtp_outcome(code) == outcome


def test_back_off_follows_the_schedule_then_repeats_its_last_step() -> None:
    delays = [5.0, 30.0, 120.0]
    assert [retry_delay(n, delays) for n in (1, 2, 3, 4, 10)] == [5, 30, 120, 120, 120]


def test_every_message_edge_as_written_out() -> None:
    expected = {
        ("pending", "accepted"): "sent",
        ("pending", "retry"): "pending",
        ("pending", "refused"): "failed",
        ("pending", "gave_up"): "failed",
    }
    for state in ("pending", "sent", "failed", "skipped"):
        for event in ("accepted", "retry", "refused", "gave_up"):
            if (state, event) in expected:
                assert MESSAGES.step(state, event) == expected[(state, event)]
            else:
                with pytest.raises(Conflict):
                    MESSAGES.step(state, event)


def test_reminders_may_be_refused_but_confirmations_not() -> None:
    opted_out = Recipient("r", "r@example.fi", None, "fi", reminders=False)
    assert email_skip_reason("reminder", opted_out) == "opted out"
    assert email_skip_reason("reservation_confirmed", opted_out) is None
    assert email_skip_reason("reservation_confirmed", None) == "no e-mail address"


def test_finnish_and_swedish_catalogues_translate_every_text() -> None:
    for lang in ("fi", "sv"):
        with (CATALOGUES / lang / "LC_MESSAGES" / "notify.po").open("rb") as f:
            catalog = read_po(f, locale=lang)
        missing = [m.id for m in catalog if m.id and not m.string]
        assert missing == [], lang


def test_dates_and_money_in_each_language() -> None:
    texts = load()
    start = datetime(2026, 12, 12, 8, 0, tzinfo=UTC)
    end = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
    fi = Language("fi", texts["fi"], "Europe/Helsinki")
    assert fi.when(start, end) == "lauantai 12. joulukuuta 2026 10.00–11.00"
    assert fi.money(1250) == "12,50\xa0€"
    en = Language("en", texts["en"], "Europe/Helsinki")
    assert en.gettext("Hello,") == "Hello,"
    assert Language("xx", texts["fi"], "UTC").lang == "fi"


ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//\r\nBEGIN:VEVENT\r\nUID:r1@x\r\n"
    "DTSTAMP:20261201T000000Z\r\nDTSTART:20261212T080000Z\r\nDTEND:20261212T090000Z\r\n"
    "STATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_calendar_invitation_and_its_withdrawal() -> None:
    request = icalendar.Calendar.from_ical(calendar_invitation(ICS, "REQUEST"))
    assert request["METHOD"] == "REQUEST"
    assert request.walk("VEVENT")[0]["STATUS"] == "CONFIRMED"
    cancel = icalendar.Calendar.from_ical(calendar_invitation(ICS, "CANCEL"))
    assert cancel["METHOD"] == "CANCEL"
    assert cancel.walk("VEVENT")[0]["STATUS"] == "CANCELLED"
    assert cancel.walk("VEVENT")[0]["UID"] == "r1@x"
