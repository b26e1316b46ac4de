"""E-mails to residents, end to end: booking's events -> notify -> a real SMTP server."""

from __future__ import annotations

import asyncio

import icalendar
import msgspec
import pytest
from nats.aio.client import Client as NATS

from shared.contracts import booking as b
from shared.contracts import notify as n
from shared.contracts.common import RequestContext
from shared.errors import ValidationFailed
from tests.integration.booking.conftest import RESIDENT, Booking
from tests.integration.notify.conftest import (
    Notify,
    confirm,
    eventually,
    free_booking,
)

pytestmark = pytest.mark.timeout(60)

AINO = "aino@example.fi"


def calendar_of(mail: object) -> icalendar.Calendar:
    parts = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]  # type: ignore[attr-defined]
    assert len(parts) == 1
    return icalendar.Calendar.from_ical(parts[0].get_content())


async def test_confirmed_and_cancelled_booking_each_give_one_mail_in_the_residents_language(
    booking: Booking, notify: Notify
) -> None:
    await notify.contact(RESIDENT, AINO, locale="sv")
    rid = await free_booking(booking)
    await confirm(booking, rid)
    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 1)
    mail = notify.smtp.catcher.to(AINO)[0]
    assert mail["Subject"].startswith("Bokningen bekräftad: ")
    assert mail["Content-Language"] == "sv"
    body = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert body is not None
    assert html is not None
    assert "din bokning är bekräftad" in body.get_content()
    assert '<html lang="sv">' in html.get_content()
    cal = calendar_of(mail)
    assert cal["METHOD"] == "REQUEST"
    assert str(cal.walk("VEVENT")[0]["UID"]).startswith(str(rid))

    await booking.call("cancel", b.CancelRequest(reservation_id=rid), b.CancelReply, RESIDENT)
    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 2)
    cancelled = notify.smtp.catcher.to(AINO)[1]
    assert cancelled["Subject"].startswith("Bokningen avbokad: ")
    cal = calendar_of(cancelled)
    assert cal["METHOD"] == "CANCEL"
    assert cal.walk("VEVENT")[0]["STATUS"] == "CANCELLED"

    async def both_sent() -> bool:  # the server's 250 comes a moment before the row says so
        return {m.state for m in await notify.messages(RESIDENT.subject)} == {"sent"}

    await eventually(both_sent)
    sent = await notify.messages(RESIDENT.subject)
    assert sorted((m.kind, m.state, m.address) for m in sent) == [
        ("reservation_cancelled", "sent", AINO),
        ("reservation_confirmed", "sent", AINO),
    ]


async def test_redelivered_event_gives_one_mail(booking: Booking, notify: Notify, nc: NATS) -> None:
    await notify.contact(RESIDENT, AINO)
    rid = await free_booking(booking)
    await confirm(booking, rid)
    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 1)
    [payload] = [
        msgspec.json.encode(e)
        for e in await booking.events(b.ReservationConfirmed.subject)
        if e["reservation_id"] == str(rid)
    ]
    js = nc.jetstream()
    for _ in range(3):  # the same event again, as new stream messages (no Nats-Msg-Id)
        await js.publish(b.ReservationConfirmed.subject, payload)
    await asyncio.sleep(1.0)
    assert len(notify.smtp.catcher.to(AINO)) == 1
    assert len(await notify.messages(RESIDENT.subject)) == 1


async def test_smtp_down_for_a_while_gives_the_mails_later_none_lost(
    booking: Booking, notify: Notify
) -> None:
    await notify.contact(RESIDENT, AINO)
    notify.smtp.stop()
    ids = [await free_booking(booking, minute=m) for m in (0, 20, 40)]
    for rid in ids:
        await confirm(booking, rid)

    async def tried_and_failed() -> bool:
        found = await notify.messages(RESIDENT.subject)
        return len(found) == 3 and all(m.attempts >= 2 and m.last_error for m in found)

    await eventually(tried_and_failed)
    assert notify.smtp.catcher.to(AINO) == []
    notify.smtp.start()
    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 3)
    await asyncio.sleep(1.0)  # nothing more comes
    assert len(notify.smtp.catcher.to(AINO)) == 3
    assert {m.state for m in await notify.messages(RESIDENT.subject)} == {"sent"}


async def test_4xx_is_tried_again_and_5xx_is_failed_for_good_visible_to_staff(
    booking: Booking, notify: Notify
) -> None:
    await notify.contact(RESIDENT, AINO)
    notify.smtp.catcher.answer = "451 4.3.0 try again later"
    await confirm(booking, await free_booking(booking))
    await eventually(lambda: notify.smtp.catcher.refused >= 2)
    notify.smtp.catcher.answer = None
    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 1)

    notify.smtp.catcher.answer = "550 5.1.1 no such mailbox"
    await confirm(booking, await free_booking(booking, minute=20))

    async def failed() -> bool:
        return any(m.state == "failed" for m in await notify.messages(RESIDENT.subject))

    await eventually(failed)
    refused = notify.smtp.catcher.refused
    await asyncio.sleep(1.0)
    assert notify.smtp.catcher.refused == refused  # not tried again
    [bad] = [m for m in await notify.messages(RESIDENT.subject) if m.state == "failed"]
    assert bad.last_error is not None
    assert bad.last_error.startswith("550")
    assert bad.attempts == 1


async def test_without_an_address_nothing_is_sent_and_staff_see_why(
    booking: Booking, notify: Notify
) -> None:
    await confirm(booking, await free_booking(booking))

    async def recorded() -> bool:
        return len(await notify.messages(RESIDENT.subject)) == 1

    await eventually(recorded)
    [skipped] = await notify.messages(RESIDENT.subject)
    assert (skipped.state, skipped.last_error) == ("skipped", "no e-mail address")
    assert notify.smtp.catcher.mails == []


async def test_bad_contact_details_are_refused_naming_the_field_and_change_nothing(
    notify: Notify,
) -> None:
    await notify.contact(RESIDENT, AINO)
    for bad in ({"email": "not-an-address"}, {"phone": "0401234567"}, {"locale": "de"}):
        with pytest.raises(ValidationFailed) as err:
            await notify.requester.call(
                "notify.v1.set_contact",
                bad,
                n.ContactView,
                ctx=RequestContext(principal=RESIDENT),
            )
        assert err.value.field == next(iter(bad))
    mine = await notify.call("get_contact", n.GetContactRequest(), n.ContactView, RESIDENT)
    assert (mine.email, mine.locale) == (AINO, "fi")
