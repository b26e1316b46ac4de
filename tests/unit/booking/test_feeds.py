"""iCalendar documents as RFC 5545 and a strict second parser (`ical`) accept them: empty,
one event, across DST, cancelled, long names in Finnish, zones with and without DST."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from services.booking.domain.feeds import (
    AROUND,
    PRODID,
    busy_event,
    calendar_text,
    reservation_event,
    vtimezone_text,
)
from services.booking.domain.model import Reservation, Resource
from tests.integration.booking.ics_rules import check_rfc5545

STAMP = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
ZONES = ["Europe/Helsinki", "Asia/Tokyo", "America/Sao_Paulo", "Australia/Lord_Howe", "UTC"]


def resource(tz: str = "Europe/Helsinki", name: str = "Pääsali") -> Resource:
    return Resource(
        id=uuid.uuid4(), unit_id=uuid.uuid4(), name={"fi": name},
        unit_name={"fi": "Impivaaran urheiluhalli"}, kind="space", merchant_id="sports", tz=tz,
    )  # fmt: skip


def reservation(
    res: Resource, start: datetime, state: str = "confirmed", seq: int = 0
) -> Reservation:
    return Reservation(
        id=uuid.uuid4(), resource_id=res.id, unit_id=res.unit_id, customer="resident-aino",
        state=state, starts_at=start, ends_at=start + timedelta(hours=1), sequence=seq,  # type: ignore[arg-type]
    )  # fmt: skip


def feed(res: Resource, found: list[Reservation]) -> str:
    zone = ZoneInfo(res.tz)
    days = [r.starts_at.astimezone(zone).date() for r in found] or [date(2026, 12, 5)]
    events = [reservation_event(r, res, STAMP) for r in found]
    return calendar_text("Varaukset", "feed-1", events, res.tz, min(days), max(days))


@pytest.mark.parametrize("tz", ZONES)
def test_an_empty_feed_still_has_a_component_and_a_complete_timezone(tz: str) -> None:
    text = feed(resource(tz), [])
    check_rfc5545(text)
    assert text.count("BEGIN:VTIMEZONE") == 1


@pytest.mark.parametrize("tz", ZONES)
def test_one_event_in_a_month_without_a_dst_change_has_a_complete_timezone(tz: str) -> None:
    """The feeds' range was the events' days: a December reservation got a VTIMEZONE without
    STANDARD or DAYLIGHT, which `ical` refuses."""
    res = resource(tz)
    text = feed(res, [reservation(res, datetime(2026, 12, 5, 10, tzinfo=ZoneInfo(tz)))])
    parsed = check_rfc5545(text)
    [event] = parsed.walk("VEVENT")
    assert event.start == datetime(2026, 12, 5, 10, tzinfo=ZoneInfo(tz))


def test_events_across_dst_keep_their_wall_time_and_offsets() -> None:
    res = resource()
    hel = ZoneInfo("Europe/Helsinki")
    found = [
        reservation(res, datetime(2027, 3, 27, 10, tzinfo=hel)),
        reservation(res, datetime(2027, 3, 29, 10, tzinfo=hel), state="cancelled", seq=2),
        reservation(res, datetime(2027, 10, 30, 10, tzinfo=hel), state="held"),
        reservation(res, datetime(2027, 11, 1, 10, tzinfo=hel), state="requested"),
    ]
    parsed = check_rfc5545(feed(res, found))
    events = sorted(parsed.walk("VEVENT"), key=lambda e: e.start)
    assert [e.start.astimezone(hel).hour for e in events] == [10, 10, 10, 10]
    assert [e.start.utcoffset() for e in events] == [timedelta(hours=h) for h in (2, 3, 3, 2)]
    assert [str(e["STATUS"]) for e in events] == [
        "CONFIRMED", "CANCELLED", "TENTATIVE", "TENTATIVE",
    ]  # fmt: skip
    assert events[1]["SEQUENCE"] == 2


def test_long_finnish_names_fold_at_75_octets_between_characters() -> None:
    res = resource(name="Äänekosken ja Jyväskylän yhteinen ööliikuntasali, pääty " * 3)
    text = feed(res, [reservation(res, datetime(2027, 1, 8, 10, tzinfo=ZoneInfo(res.tz)))])
    parsed = check_rfc5545(text)  # each physical line <= 75 octets and valid UTF-8 alone
    assert str(parsed.walk("VEVENT")[0]["SUMMARY"]).startswith("Äänekosken ja Jyväskylän")
    assert "\r\n " in text


def test_a_busy_feed_of_one_day_is_complete() -> None:
    hel = ZoneInfo("Europe/Helsinki")
    day = date(2026, 12, 5)
    events = [
        busy_event(uuid.uuid4(), datetime(2026, 12, 5, h, tzinfo=hel),
                   datetime(2026, 12, 5, h + 1, tzinfo=hel), hel, STAMP)
        for h in (10, 12)
    ]  # fmt: skip
    text = calendar_text("Pääsali: varattu", "busy-1", events, "Europe/Helsinki", day, day)
    parsed = check_rfc5545(text)
    assert len(parsed.walk("VEVENT")) == 2
    assert "resident" not in text


@pytest.mark.parametrize("tz", ["Europe/Helsinki", "America/Sao_Paulo", "UTC"])
def test_a_document_is_what_icalendar_builds_and_its_timezone_is_built_once(tz: str) -> None:
    """The VTIMEZONE text is kept per zone and range (it was most of a document's CPU): the
    document is byte for byte what icalendar's `add_missing_timezones` gives."""
    res = resource(tz)
    day = date(2026, 12, 5)
    found = [reservation(res, datetime(2026, 12, 5, 10, tzinfo=ZoneInfo(tz)))]
    expected = Calendar.new(prodid=PRODID, name="Varaukset", uid="feed-1")
    expected.add_component(reservation_event(found[0], res, STAMP))
    expected.add_missing_timezones(first_date=day - AROUND, last_date=day + AROUND)
    vtimezone_text.cache_clear()
    assert feed(res, found) == bytes(expected.to_ical()).decode()
    assert feed(res, found) == bytes(expected.to_ical()).decode()
    assert vtimezone_text.cache_info().hits == (1 if tz != "UTC" else 0)
