"""The iCalendar documents booking serves (RFC 5545), built with icalendar (no I/O).

What RFC 5545 asks of them, and how each is met:
- a VCALENDAR with exactly one PRODID and VERSION:2.0 (§3.6, §3.7.3, §3.7.4), and at least one
  component (§3.6: `component = 1*(...)`): an empty feed carries its zone's VTIMEZONE;
- each VEVENT exactly one UID and one DTSTAMP in UTC (§3.6.1, §3.8.4.7, §3.8.7.2);
- each zone a VTIMEZONE with its TZID and at least one STANDARD or DAYLIGHT part (§3.6.5):
  icalendar builds them from zoneinfo for the transitions within the range it is given, and
  finds none in a range without one (a December feed got a bare VTIMEZONE, which strict
  parsers refuse), so the range reaches a year before the first event and a year after the
  last: the observance in force at every event and a transition of any zone that has them;
- content lines folded at 75 octets without splitting a UTF-8 character, each ended by CRLF
  (§3.1): icalendar's serialiser; the tests check every document line by line.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone
from icalendar.enums import TRANSP

from services.booking.domain.model import Reservation, Resource

PRODID = "-//City of Turku//Booking//FI"
UID_DOMAIN = "booking.turku.fi"
STATUS = {"confirmed": "CONFIRMED", "held": "TENTATIVE", "requested": "TENTATIVE"}
AROUND = timedelta(days=366)  # of the events: the span each VTIMEZONE's observances cover


def calendar_text(
    name: str, uid: str, events: Iterable[Event], zone: str, first: date, last: date
) -> str:
    """The document: `events` (from `first` to `last`, local dates) and a complete VTIMEZONE
    for each zone they use (`zone`'s when there are none), first among its components."""
    cal = Calendar.new(prodid=PRODID, name=name, uid=uid)
    for e in events:
        cal.add_component(e)
    lo, hi = first - AROUND, last + AROUND
    zones = sorted(cal.get_missing_tzids()) or ([] if cal.subcomponents else [zone])
    text = bytes(cal.to_ical()).decode()
    timezones = "".join(vtimezone_text(z, lo, hi) for z in zones)
    if not timezones:
        return text
    at = text.find("\r\nBEGIN:") + 2  # before the first component (as icalendar puts them)
    if at == 1:
        at = text.rindex("END:VCALENDAR")
    return text[:at] + timezones + text[at:]


@functools.lru_cache(maxsize=1024)
def vtimezone_text(tzid: str, first: date, last: date) -> str:
    """A zone's VTIMEZONE (its observances from `first` to `last`) as content lines ("" for a
    zone zoneinfo does not know). Kept: building and serialising it was most of the CPU of a
    one-reservation document (bench-journey's profile of booking)."""
    try:
        return bytes(Timezone.from_tzid(tzid, first_date=first, last_date=last).to_ical()).decode()
    except ValueError:
        return ""


def reservation_event(r: Reservation, res: Resource, stamp: datetime) -> Event:
    """A reservation in the resident's calendar: cancelled ones stay, as STATUS:CANCELLED with
    a higher SEQUENCE, so that a client drops them."""
    tz = ZoneInfo(res.tz)
    name = res.name.get("fi", "")
    e = Event.new(
        uid=f"{r.id}@{UID_DOMAIN}",
        summary=f"{name}, {res.unit_name.get('fi', '')}",
        start=r.starts_at.astimezone(tz),
        end=r.ends_at.astimezone(tz),
        stamp=stamp,
        sequence=r.sequence,
        location=res.unit_name.get("fi", ""),
    )
    e.add("status", STATUS.get(r.state, "CANCELLED"))
    return e


def busy_event(
    reservation_id: uuid.UUID, starts_at: datetime, ends_at: datetime, tz: ZoneInfo, stamp: datetime
) -> Event:
    """A busy time of a resource (no personal data)."""
    return Event.new(
        uid=f"busy-{reservation_id}@{UID_DOMAIN}",
        summary="Varattu / Bokad / Reserved",
        start=starts_at.astimezone(tz),
        end=ends_at.astimezone(tz),
        stamp=stamp,
        transparency=TRANSP.OPAQUE,
    )


def reservations_text(
    name: str,
    uid: str,
    found: Sequence[Reservation],
    resources: Mapping[uuid.UUID, Resource],
    zone: str,
    now: datetime,
) -> str:
    """A resident's reservations (their resources in `resources`) as a document; `zone` is an
    empty one's."""
    stamp = now.astimezone(UTC).replace(microsecond=0)
    shown = [r for r in found if r.resource_id in resources]
    events = [reservation_event(r, resources[r.resource_id], stamp) for r in shown]
    if not shown:
        return calendar_text(name, uid, events, zone, now.date(), now.date())
    tz = ZoneInfo(resources[shown[0].resource_id].tz)
    first = min(r.starts_at for r in shown).astimezone(tz).date()
    last = max(r.ends_at for r in shown).astimezone(tz).date()
    return calendar_text(name, uid, events, zone, first, last)


def busy_text(
    name: str,
    uid: str,
    spans: Sequence[tuple[uuid.UUID, datetime, datetime]],
    zone: str,
    first: date,
    last: date,
    now: datetime,
) -> str:
    """A resource's busy times (reservation id, start, end) from `first` to `last`."""
    stamp = now.astimezone(UTC).replace(microsecond=0)
    tz = ZoneInfo(zone)
    events = [busy_event(rid, start, end, tz, stamp) for rid, start, end in spans]
    return calendar_text(name, uid, events, zone, first, last)
