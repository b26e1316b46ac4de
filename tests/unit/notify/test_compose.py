"""One way every notify e-mail is put together (render.compose): the reservations' mails and
the orders' write the same headers and parts."""

from __future__ import annotations

import email.policy
import re
import uuid
from datetime import UTC, datetime, timedelta

from aiosmtplib.email import flatten_message

import services.notify.render as render
from services.notify.domain.model import signs_in
from services.notify.render import (
    DESK_NOTE,
    MESSAGE_ID_DOMAIN,
    Attachment,
    ReservationDetails,
    Sender,
    Writer,
    compose,
)
from services.notify.texts import Language, load

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_headers_and_parts_of_a_mail_with_an_attachment() -> None:
    message_id = uuid.uuid4()
    sender = Sender(address="liikunta@turku.fi", name="Liikunta", reply_to="apu@turku.fi")
    ics = Attachment(b"BEGIN:VCALENDAR", "text", "calendar", "r.ics", {"method": "REQUEST"})
    mail = compose(
        message_id=message_id, subject="Hei", sender=sender, sender_name="Liikunta",
        to="anna@example.org", now=NOW, lang="sv", text="teksti", html="<p>teksti</p>",
        attachment=ics,
    )  # fmt: skip
    assert mail["From"] == "Liikunta <liikunta@turku.fi>"
    assert (mail["To"], mail["Reply-To"], mail["Subject"]) == (
        "anna@example.org",
        "apu@turku.fi",
        "Hei",
    )
    assert mail["Message-ID"] == f"<{message_id}@{MESSAGE_ID_DOMAIN}>"
    assert mail["Date"] == "Sun, 06 Dec 2026 10:00:00 +0000"
    assert mail["Content-Language"] == "sv"
    parts = [part.get_content_type() for part in mail.walk()]
    assert parts == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                     "text/calendar"]  # fmt: skip
    calendar = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_filename() == "r.ics"


def test_without_a_reply_to_or_attachment() -> None:
    mail = compose(
        message_id=uuid.uuid4(), subject="Kuitti", sender=Sender(address="kaupunki@turku.fi"),
        sender_name="Turun kaupunki", to="b@example.org", now=NOW, lang="fi", text="t",
        html="<p>t</p>",
    )  # fmt: skip
    assert mail["Reply-To"] is None
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]


def _confirmation(customer: str) -> str:
    """The plain and HTML text of a confirmation mail to `customer`, in Finnish."""
    lang = Language("fi", load()["fi"], "Europe/Helsinki")
    details = ReservationDetails(
        reservation_id=uuid.uuid4(), resource_name={"fi": "Pääsali"},
        unit_name={"fi": "Impivaaran urheiluhalli"}, tz="Europe/Helsinki",
        starts_at=NOW, ends_at=NOW + timedelta(hours=1),
    )  # fmt: skip
    mail = Writer("https://varaukset.turku.fi").reservation_email(
        message_id=uuid.uuid4(), kind="reservation_confirmed", to="a@example.org", lang=lang,
        sender=Sender(address="liikunta@turku.fi"), details=details, data={}, now=NOW,
        customer=customer,
    )  # fmt: skip
    return "".join(
        str(part.get_content()) for part in mail.walk() if part.get_content_maintype() == "text"
    )


def test_a_resident_gets_the_link_to_their_bookings_a_desk_customer_where_to_turn() -> None:
    note = load()["fi"].gettext(DESK_NOTE)
    resident = _confirmation("demo:resident-turku")
    assert "https://varaukset.turku.fi/reservations" in resident
    assert note not in resident
    desk = _confirmation(f"desk:{uuid.uuid4()}")
    assert "https://varaukset.turku.fi" not in desk  # no page behind a sign-in they lack
    assert note in desk
    assert signs_in("demo:resident-turku")
    assert not signs_in("desk:0b9a")


def _a_mail(policy: object | None = None) -> bytes:
    kept = render.MAIL_POLICY
    render.MAIL_POLICY = policy or kept  # type: ignore[assignment]
    try:
        mail = compose(
            message_id=uuid.UUID(int=7), subject="Varaus vahvistettu: Impivaaran sali, pääsali",
            sender=Sender(address="liikunta@turku.fi", reply_to="apu@turku.fi"),
            sender_name="Turun kaupunki, liikuntapalvelut", to="anna.ahonen@example.org",
            now=NOW, lang="fi", text="Hei Ännä,\n" * 40, html="<p>Hei Ännä</p>" * 40,
            attachment=Attachment(b"BEGIN:VCALENDAR", "text", "calendar", "r.ics",
                                  {"method": "REQUEST"}),
        )  # fmt: skip
    finally:
        render.MAIL_POLICY = kept
    return re.sub(rb"={15}\d+==", b"BOUNDARY", flatten_message(mail))


def test_a_mail_is_written_as_with_the_standard_librarys_default_policy() -> None:
    """MAIL_POLICY only makes each header's class once (it was a third of writing a mail):
    the bytes sent are those the standard policy writes."""
    assert _a_mail() == _a_mail(email.policy.default)


def test_headers_of_the_same_name_share_their_class() -> None:
    first, second = (
        compose(
            message_id=uuid.uuid4(), subject="Kuitti", sender=Sender(address="k@turku.fi"),
            sender_name="Turku", to="b@example.org", now=NOW, lang="fi", text="t", html="t",
        )
        for _ in range(2)
    )  # fmt: skip
    assert type(first["Subject"]) is type(second["Subject"])
    assert type(first["To"]) is type(second["To"])
