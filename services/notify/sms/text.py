"""The text of an SMS, in the resident's language: short (one or two SMS parts), with the
resource, the place, the time in the unit's zone and the booking number."""

from __future__ import annotations

from babel.dates import format_date, format_time

from services.notify.render import ReservationDetails
from services.notify.texts import Language

SMS_TEXTS = {
    "reservation_confirmed": "Booking confirmed: {resource}, {place}, {when}. Booking number {number}.",  # noqa: E501
    "reminder": "Reminder: {resource}, {place}, {when}. Booking number {number}.",
}


def short_when(lang: Language, details: ReservationDetails) -> str:
    """e.g. "12.12.2026 10.00–11.00" (fi), "12/12/2026 10:00–11:00" (en)."""
    start, end = details.starts_at.astimezone(lang.tz), details.ends_at.astimezone(lang.tz)
    day = format_date(start, format="short", locale=lang.locale)
    last = format_time(end, format="short", locale=lang.locale)
    if end.date() != start.date():
        last = f"{format_date(end, format='short', locale=lang.locale)} {last}"
    return f"{day} {format_time(start, format='short', locale=lang.locale)}–{last}"


def sms_text(kind: str, lang: Language, details: ReservationDetails) -> str:
    return lang.gettext(SMS_TEXTS[kind]).format(
        resource=details.name(lang.lang),
        place=details.place(lang.lang),
        when=short_when(lang, details),
        number=str(details.reservation_id).split("-")[0].upper(),
    )
