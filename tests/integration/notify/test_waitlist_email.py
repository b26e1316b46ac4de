"""The waiting list's offer by e-mail: booking offers a freed time to the first one waiting
(evt.booking.waitlist.offered) -> notify -> a real SMTP server, in the resident's language,
with the way to pay and until when the time is held; a redelivered offer gives one mail."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from nats.aio.client import Client as NATS

from shared.contracts import booking as b
from shared.contracts.common import Principal
from tests.integration.booking.conftest import RESIDENT, Booking, local, next_weekday
from tests.integration.notify.conftest import Notify, eventually

pytestmark = pytest.mark.timeout(60)

BEA = Principal(subject="resident-bea", roles=("resident",), home_municipality="853")
BEA_MAIL = "bea@example.fi"


async def test_the_first_one_waiting_gets_one_mail_with_the_way_to_pay(
    booking: Booking, notify: Notify, nc: NATS
) -> None:
    await notify.contact(BEA, BEA_MAIL, locale="sv")
    hall = await booking.add_resource(1)
    start = local(next_weekday(2), 11)
    item = b.HoldItem(resource_id=hall, starts_at=start, ends_at=start + timedelta(hours=1))
    taken = await booking.call("hold", b.HoldRequest(items=[item]), b.HoldReply, RESIDENT)
    join = b.JoinWaitlistRequest(resource_id=hall, starts_at=item.starts_at, ends_at=item.ends_at)
    await booking.call("join_waitlist", join, b.WaitlistEntryView, BEA)
    await booking.call(
        "release",
        b.ReservationRef(reservation_id=taken.reservations[0].reservation_id),
        b.ReservationView,
        RESIDENT,
    )
    await eventually(lambda: len(notify.smtp.catcher.to(BEA_MAIL)) == 1)
    mail = notify.smtp.catcher.to(BEA_MAIL)[0]
    assert mail["Subject"] == "En tid du köade för är ledig: Testi"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert "Reserverad åt dig till" in text.get_content()
    assert "Betala bokningen: http" in text.get_content()
    assert '/waitlist">Betala bokningen</a>' in html.get_content()
    assert not [p for p in mail.iter_attachments()]  # nothing booked yet: no calendar entry

    # The offer announced again (JetStream's window passed): no second mail.
    [offered] = await booking.events(b.WaitlistOffered.subject)
    js = nc.jetstream()
    await js.publish(
        b.WaitlistOffered.subject, msgspec.json.encode(offered), headers={"Nats-Msg-Id": "again"}
    )

    async def handled() -> bool:
        info = await js.consumer_info("EVENTS", "notify-waitlist")
        return info.num_pending == 0 and info.num_ack_pending == 0

    await eventually(handled)
    messages = await notify.messages(BEA.subject)
    assert [(m.kind, m.state) for m in messages] == [("waitlist_offered", "sent")]
    assert len(notify.smtp.catcher.to(BEA_MAIL)) == 1
