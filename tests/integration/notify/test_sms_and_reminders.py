"""SMS and reminders, end to end: booking's events -> notify -> the development SMS provider
(or a real HTTP receiver as the SMS gateway) and a real SMTP server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client as NATS

from services.booking import demo
from services.notify import reminders_store
from services.notify.app import MIGRATIONS, build
from services.notify.reminders import DEV_SMS, FINISHED_REMINDERS, Reminders
from shared.contracts import booking as b
from shared.contracts import notify as n
from shared.contracts.common import Principal
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.messaging import Requester
from shared.retention import purge_batch
from tests.conftest import clean_schema
from tests.integration.booking.conftest import RESIDENT, SPORTS_STAFF, Booking
from tests.integration.notify.conftest import (
    ADMIN,
    Notify,
    confirm,
    eventually,
    fast_settings,
    free_booking,
)
from tests.integration.notify.http_receiver import Receiver
from tests.integration.notify.smtp import SmtpServer

pytestmark = pytest.mark.timeout(60)

AINO = "aino@example.fi"
PHONE = "+358401234567"


async def contact(notify: Notify, *, reminders: bool = True, locale: str = "fi") -> None:
    req = n.SetContactRequest(email=AINO, phone=PHONE, locale=locale, reminders=reminders)  # type: ignore[arg-type]
    await notify.call("set_contact", req, n.ContactView, RESIDENT)


async def dev_sms(notify: Notify) -> list[Any]:
    return list(await notify.pool.fetch("SELECT phone, body FROM dev_sms ORDER BY created_at"))


async def of_kind(notify: Notify, kind: str, channel: str | None = None) -> list[n.MessageView]:
    return [
        m
        for m in await notify.messages(RESIDENT.subject)
        if m.kind == kind and (channel is None or m.channel == channel)
    ]


async def make_due(notify: Notify, reservation_id: uuid.UUID) -> None:
    """The reminder comes due now: the nurse's reminders at the most hours before, and the
    booking as if made a month ago (a test cannot wait 24 hours)."""
    await eventually(lambda: scheduled(notify, reservation_id))
    async with notify.pool.acquire() as conn:
        await conn.execute(
            "UPDATE reminders SET confirmed_at = confirmed_at - interval '30 days' "
            "WHERE reservation_id = $1",
            reservation_id,
        )
        await reminders_store.set_hours(conn, demo.RESOURCE_NURSE_APPOINTMENT, "health", 336)


async def scheduled(notify: Notify, reservation_id: uuid.UUID) -> bool:
    state = await notify.pool.fetchval(
        "SELECT state FROM reminders WHERE reservation_id = $1", reservation_id
    )
    return state is not None


async def test_confirmation_gives_one_sms_in_the_residents_language_even_when_redelivered(
    booking: Booking, notify: Notify, nc: NATS
) -> None:
    await contact(notify, locale="sv")
    rid = await free_booking(booking)
    await confirm(booking, rid)

    async def one() -> bool:
        return len(await dev_sms(notify)) == 1

    await eventually(one)
    [(phone, body)] = await dev_sms(notify)
    assert phone == PHONE
    assert body.startswith("Bokningen bekräftad: ")
    assert str(rid).split("-")[0].upper() in body
    [payload] = [
        msgspec.json.encode(e)
        for e in await booking.events(b.ReservationConfirmed.subject)
        if e["reservation_id"] == str(rid)
    ]
    for _ in range(2):
        await nc.jetstream().publish(b.ReservationConfirmed.subject, payload)
    await booking.call("cancel", b.CancelRequest(reservation_id=rid), b.CancelReply, RESIDENT)
    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 2)  # confirmed, cancelled
    await asyncio.sleep(0.5)
    assert len(await dev_sms(notify)) == 1  # no SMS for a cancellation, none again
    [sms] = await of_kind(notify, "reservation_confirmed", "sms")
    assert (sms.state, sms.address) == ("sent", PHONE)


async def test_without_a_phone_number_no_sms_is_recorded(booking: Booking, notify: Notify) -> None:
    await notify.contact(RESIDENT, AINO)
    await confirm(booking, await free_booking(booking))
    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 1)
    await asyncio.sleep(0.3)
    assert await dev_sms(notify) == []
    assert [m.channel for m in await notify.messages(RESIDENT.subject)] == ["email"]


async def test_reminder_comes_once_by_mail_and_sms_even_with_three_replicas_looking(
    booking: Booking, notify: Notify
) -> None:
    await contact(notify)
    rid = await free_booking(booking)
    await confirm(booking, rid)
    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 1)
    await make_due(notify, rid)
    others = [Reminders(notify.pool, 24, 0.2) for _ in range(2)]  # besides the service's own
    await asyncio.gather(*(r.remind_due() for r in others for _ in range(3)))

    def reminded() -> bool:
        return any(m["Subject"].startswith("Muistutus: ") for m in notify.smtp.catcher.to(AINO))

    await eventually(reminded)
    await eventually(lambda: dev_sms_count(notify, "Muistutus: "))
    await asyncio.gather(*(r.remind_due() for r in others))
    await asyncio.sleep(0.5)
    reminders = [m for m in notify.smtp.catcher.to(AINO) if m["Subject"].startswith("Muistutus")]
    assert len(reminders) == 1
    assert [body for _, body in await dev_sms(notify) if body.startswith("Muistutus")] != []
    assert len([b for _, b in await dev_sms(notify) if b.startswith("Muistutus")]) == 1
    assert sorted(m.channel for m in await of_kind(notify, "reminder")) == ["email", "sms"]


async def dev_sms_count(notify: Notify, prefix: str) -> bool:
    return any(body.startswith(prefix) for _, body in await dev_sms(notify))


async def test_cancellation_before_the_reminder_is_due_calls_it_off(
    booking: Booking, notify: Notify
) -> None:
    await contact(notify)
    rid = await free_booking(booking)
    await confirm(booking, rid)
    await eventually(lambda: scheduled(notify, rid))
    await booking.call("cancel", b.CancelRequest(reservation_id=rid), b.CancelReply, RESIDENT)

    async def cancelled() -> bool:
        state = await notify.pool.fetchval(
            "SELECT state FROM reminders WHERE reservation_id = $1", rid
        )
        return bool(state == "cancelled")

    await eventually(cancelled)
    await make_due(notify, rid)
    await Reminders(notify.pool, 24, 0.2).remind_due()
    await asyncio.sleep(0.5)
    assert await of_kind(notify, "reminder") == []
    assert not any(m["Subject"].startswith("Muistutus") for m in notify.smtp.catcher.to(AINO))


async def test_opted_out_resident_gets_no_reminder_and_staff_see_why(
    booking: Booking, notify: Notify
) -> None:
    await contact(notify, reminders=False)
    rid = await free_booking(booking)
    await confirm(booking, rid)

    async def confirmation_sms() -> bool:
        return len(await dev_sms(notify)) == 1

    await eventually(lambda: len(notify.smtp.catcher.to(AINO)) == 1)
    await eventually(confirmation_sms)  # the confirmation's SMS is not opted out of
    await make_due(notify, rid)

    async def recorded() -> bool:
        return len(await of_kind(notify, "reminder")) == 2

    await eventually(recorded)
    assert {(m.channel, m.state, m.last_error) for m in await of_kind(notify, "reminder")} == {
        ("email", "skipped", "opted out"),
        ("sms", "skipped", "opted out"),
    }
    await asyncio.sleep(0.5)
    assert len(notify.smtp.catcher.to(AINO)) == 1  # the confirmation only
    assert len(await dev_sms(notify)) == 1


async def test_booked_within_the_reminder_time_gets_no_reminder(
    booking: Booking, notify: Notify
) -> None:
    await contact(notify)
    async with notify.pool.acquire() as conn:
        await reminders_store.set_hours(conn, demo.RESOURCE_NURSE_APPOINTMENT, "health", 336)
    rid = await free_booking(booking)
    await confirm(booking, rid)

    async def skipped() -> bool:
        row = await notify.pool.fetchrow(
            "SELECT state, reason FROM reminders WHERE reservation_id = $1", rid
        )
        return row is not None and tuple(row) == ("skipped", "booked within the reminder time")

    await eventually(skipped)
    assert await of_kind(notify, "reminder") == []


# --- the HTTP SMS gateway, as the service uses it ----------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def notify_http(
    hosted: Any, nc: NATS, smtp: SmtpServer, receiver: Receiver
) -> AsyncIterator[Notify]:
    settings = fast_settings(smtp, sms_url=receiver.url, sms_token="tok", sms_timeout_s=1.0)
    async with hosted("notify", lambda infra: build(infra, settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "notify")
        try:
            yield Notify(pool, Requester(nc, 10.0), smtp)
        finally:
            await clean_schema(pool, "notify")


async def test_gateway_5xx_is_tried_again_and_4xx_failed_for_good_visible_to_staff(
    booking: Booking, notify_http: Notify, receiver: Receiver
) -> None:
    notify = notify_http
    await contact(notify)
    receiver.statuses = [503, 502]
    await confirm(booking, await free_booking(booking))

    async def sent() -> bool:
        return [m.state for m in await of_kind(notify, "reservation_confirmed", "sms")] == ["sent"]

    await eventually(sent)
    assert len(receiver.requests) == 3
    assert len({h["Idempotency-Key"] for h, _ in receiver.requests}) == 1  # the same message
    assert receiver.bodies()[-1]["to"] == PHONE

    receiver.statuses = [400]
    await confirm(booking, await free_booking(booking, minute=20))

    async def failed() -> bool:
        return any(
            m.state == "failed" for m in await of_kind(notify, "reservation_confirmed", "sms")
        )

    await eventually(failed)
    await asyncio.sleep(0.6)
    assert len(receiver.requests) == 4  # not tried again
    [bad] = [
        m for m in await of_kind(notify, "reservation_confirmed", "sms") if m.state == "failed"
    ]
    assert (bad.attempts, bad.last_error) == (1, "400 HTTP 400")
    assert await dev_sms(notify) == []  # the gateway, not the development provider


# --- a resource's own reminder time ------------------------------------------------------


async def test_staff_of_the_department_set_a_resources_reminder_hours(
    booking: Booking, notify: Notify
) -> None:
    nurse = demo.RESOURCE_NURSE_APPOINTMENT
    health = Principal(subject="staff-health", roles=("staff",), departments=("health",))
    req = n.SetReminderHoursRequest(resource_id=nurse, hours=2)
    got = await notify.call("set_reminder_hours", req, n.ReminderHours, health)
    assert (got.hours, got.own) == (2, True)
    hours = "SELECT hours FROM resource_reminders WHERE resource_id = $1"
    assert await notify.pool.fetchval(hours, nurse) == 2

    with pytest.raises(Forbidden):
        await notify.call("set_reminder_hours", req, n.ReminderHours, SPORTS_STAFF)
    with pytest.raises(Forbidden):
        await notify.call("set_reminder_hours", req, n.ReminderHours, RESIDENT)
    unknown = n.SetReminderHoursRequest(resource_id=uuid.uuid4(), hours=3)
    with pytest.raises(NotFound):
        await notify.call("set_reminder_hours", unknown, n.ReminderHours, ADMIN)
    bad = {"resource_id": str(nurse), "hours": 400}
    with pytest.raises(ValidationFailed) as err:
        await notify.call("set_reminder_hours", bad, n.ReminderHours, ADMIN)
    assert err.value.field == "hours"
    assert await notify.pool.fetchval(hours, nurse) == 2  # nothing changed

    back = n.SetReminderHoursRequest(resource_id=nurse, hours=None)
    got = await notify.call("set_reminder_hours", back, n.ReminderHours, health)
    assert (got.hours, got.own) == (24, False)
    assert await notify.pool.fetchval(hours, nurse) is None


async def test_finished_reminders_and_development_sms_are_purged_by_age(notify: Notify) -> None:
    async def reminder(state: str, age_days: int) -> uuid.UUID:
        rid = uuid.uuid4()
        await notify.pool.execute(
            """INSERT INTO reminders (reservation_id, resource_id, customer, starts_at, ends_at,
                   confirmed_at, state, updated_at)
               VALUES ($1, $1, 'c', now(), now(), now(), $2, now() - make_interval(days => $3))""",
            rid,
            state,
            age_days,
        )
        return rid

    _old_sent, old_scheduled, new_sent = (
        await reminder("sent", 40),
        await reminder("scheduled", 40),
        await reminder("skipped", 1),
    )
    await notify.pool.execute(
        """INSERT INTO dev_sms (message_id, phone, body, created_at) VALUES
           (gen_random_uuid(), '+358401234567', 'old', now() - interval '8 days'),
           (gen_random_uuid(), '+358401234567', 'new', now())"""
    )

    async def purged() -> bool:
        # the service's own purge loop may be at it too (then purge_batch finds it locked)
        async with notify.pool.acquire() as conn, conn.transaction():
            await purge_batch(conn, FINISHED_REMINDERS, 35.0, 100)
            await purge_batch(conn, DEV_SMS, 7.0, 100)
        left = {r["reservation_id"] for r in await notify.pool.fetch("SELECT * FROM reminders")}
        bodies = [r["body"] for r in await notify.pool.fetch("SELECT body FROM dev_sms")]
        return left == {old_scheduled, new_sent} and bodies == ["new"]

    await eventually(purged)
