"""What a strict calendar client checks of an iCalendar document (RFC 5545), with a second,
independent parser (`ical`) besides icalendar. Every feed and attachment booking makes goes
through `check_rfc5545` in the tests.

RFC 5545 facts checked here:
- §3.1: content lines end with CRLF; lines SHOULD NOT be longer than 75 octets excluding the
  line break, and are folded by CRLF followed by one space or tab; a fold must not split a
  UTF-8 character (checked as: every physical line is valid UTF-8 on its own).
- §3.4/§3.6: one VCALENDAR; `icalbody = calprops component` with `component = 1*(...)`: at
  least one component; PRODID and VERSION required, each once (§3.7.3, §3.7.4), VERSION 2.0.
- §3.6.1: a VEVENT has DTSTAMP and UID, each exactly once, and (with no METHOD) DTSTART; DTEND
  and DURATION not both. DTSTAMP is a UTC date-time (§3.8.7.2).
- §3.6.5: a VTIMEZONE has TZID and at least one STANDARD or DAYLIGHT part, each with DTSTART,
  TZOFFSETFROM and TZOFFSETTO; §3.2.19: every TZID a property refers to has its VTIMEZONE.
  Its observances begin no later than the first local time that refers to it (so that the
  offset of every event is defined by the document).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar

_UTC_DATE_TIME = re.compile(r"\d{8}T\d{6}Z")
_LOCAL_DATE_TIME = re.compile(r"\d{8}T\d{6}")


@dataclass
class Component:
    name: str
    properties: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [v for n, _, v in self.properties if n == name]

    def one(self, name: str) -> str:
        found = self.values(name)
        assert len(found) == 1, f"{self.name} must have exactly one {name}, has {len(found)}"
        return found[0]


def _physical_lines(text: str) -> list[bytes]:
    raw = text.encode("utf-8")
    assert raw.endswith(b"\r\n"), "the last content line must end with CRLF"
    lines = raw[:-2].split(b"\r\n")
    for line in lines:
        assert b"\r" not in line, f"a bare CR: {line!r}"
        assert b"\n" not in line, f"a bare LF (lines end with CRLF): {line!r}"
        assert line, "an empty line"
        assert len(line) <= 75, f"{len(line)} octets (at most 75): {line!r}"
        line.decode("utf-8")  # raises if a fold split a character
    return lines


def _unfold(lines: list[bytes]) -> list[str]:
    logical: list[bytes] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            assert logical, "a continuation line first"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return [line.decode("utf-8") for line in logical]


def _content_line(line: str) -> tuple[str, dict[str, str], str]:
    """NAME;PARAM=VALUE:VALUE (parameter values here are never quoted)."""
    head, sep, value = line.partition(":")
    assert sep, f"not a content line: {line!r}"
    name, *params = head.split(";")
    pairs = (p.split("=", 1) for p in params)
    return name.upper(), {k.upper(): v for k, v in pairs}, value


def _tree(lines: list[str]) -> Component:
    stack: list[Component] = [Component("ROOT")]
    for line in lines:
        name, params, value = _content_line(line)
        if name == "BEGIN":
            child = Component(value.upper())
            stack[-1].children.append(child)
            stack.append(child)
        elif name == "END":
            assert stack[-1].name == value.upper(), f"END:{value} closes {stack[-1].name}"
            stack.pop()
        else:
            stack[-1].properties.append((name, params, value))
    assert len(stack) == 1, "a component is not closed"
    root = stack[0]
    assert not root.properties, "properties outside VCALENDAR"
    assert [c.name for c in root.children] == ["VCALENDAR"], "exactly one VCALENDAR"
    return root.children[0]


def _check_timezones(cal: Component) -> dict[str, Component]:
    zones: dict[str, Component] = {}
    for tz in (c for c in cal.children if c.name == "VTIMEZONE"):
        tzid = tz.one("TZID")
        assert tzid not in zones, f"two VTIMEZONEs for {tzid}"
        parts = [c for c in tz.children if c.name in ("STANDARD", "DAYLIGHT")]
        assert parts, f"VTIMEZONE {tzid} without STANDARD or DAYLIGHT (RFC 5545 §3.6.5)"
        for part in parts:
            for name in ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO"):
                part.one(name)
        zones[tzid] = tz
    return zones


def _onsets(tz: Component) -> list[str]:
    """Local onsets of a VTIMEZONE's observances (DTSTART and RDATEs)."""
    found = []
    for part in tz.children:
        found.append(part.one("DTSTART"))
        for rdate in part.values("RDATE"):
            found += rdate.split(",")
    return found


def _check_events(cal: Component, zones: dict[str, Component]) -> list[Component]:
    events = [c for c in cal.children if c.name == "VEVENT"]
    uids = [e.one("UID") for e in events]
    assert len(set(uids)) == len(uids), "a UID used twice"
    for e in events:
        stamp = e.one("DTSTAMP")
        assert _UTC_DATE_TIME.fullmatch(stamp), f"DTSTAMP must be UTC: {stamp}"
        e.one("DTSTART")
        assert not (e.values("DTEND") and e.values("DURATION")), "DTEND and DURATION"
        for name, params, value in e.properties:
            tzid = params.get("TZID")
            if tzid is None:
                continue
            assert tzid in zones, f"{name} refers to TZID {tzid} without a VTIMEZONE"
            assert _LOCAL_DATE_TIME.fullmatch(value), f"{name} with TZID: {value}"
            earliest = min(_onsets(zones[tzid]))
            assert earliest <= value, f"{tzid}'s observances begin {earliest}, after {value}"
    return events


def check_rfc5545(text: str) -> Calendar:
    """Check `text` as RFC 5545 wants it, parse it with `ical` (strict, independent) and
    with icalendar; returns icalendar's parse."""
    cal = _tree(_unfold(_physical_lines(text)))
    assert cal.one("VERSION") == "2.0"
    assert cal.one("PRODID")
    assert cal.children, "a VCALENDAR needs at least one component (RFC 5545 §3.6)"
    zones = _check_timezones(cal)
    events = _check_events(cal, zones)
    strict = IcsCalendarStream.calendar_from_ics(text)  # raises CalendarParseError
    assert len(strict.events) == len(events)
    assert {z.tz_id for z in strict.timezones} == set(zones)
    parsed = Calendar.from_ical(text)
    assert len(parsed.walk("VEVENT")) == len(events)
    return parsed
