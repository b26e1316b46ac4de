"""The waiting list through `booking.v1.*` and booking's own consumer of its events: a
resident queues for a taken time; when it frees, the first one waiting is offered a hold of
it; a lapsed or declined offer goes to the next; one offer of a time at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client as NATS

from services.booking import demo, metrics
from services.booking.service import Bookings
from services.booking.settings import BookingSettings
from services.booking.waitlist_offers import Offers
from shared.contracts import audit as a
from shared.contracts import booking as c
from shared.contracts.common import Principal
from shared.errors import Conflict, LimitReached, NotFound, ValidationFailed
from shared.settings import CommonSettings
from tests.integration.booking.conftest import (
    HEL,
    RESIDENT,
    Booking,
    hosted_booking,
    local,
    next_weekday,
)
from tests.integration.gateway.conftest import bearer
from tests.integration.gateway.services import gateway_before_services

pytestmark = pytest.mark.timeout(60)

BEA = Principal(subject="resident-bea", roles=("resident",), home_municipality="853")
CAI = Principal(subject="resident-cai", roles=("resident",), home_municipality="853")
DAN = Principal(subject="resident-dan", roles=("resident",), home_municipality="853")


@pytest.fixture
async def quick_offers(hosted: Any, nc: NATS) -> AsyncIterator[Booking]:
    """Offers lapse after a second and the sweeper comes round often."""
    settings = BookingSettings(demo_data=True, sweep_interval_s=0.2, waitlist_offer_s=1)
    async with hosted_booking(hosted, nc, settings) as running:
        yield running


async def take(
    booking: Booking,
    resource: uuid.UUID,
    start: datetime,
    hours: int = 1,
    who: Principal = RESIDENT,
) -> c.ReservationView:
    item = c.HoldItem(resource_id=resource, starts_at=start, ends_at=start + timedelta(hours=hours))
    held = await booking.call("hold", c.HoldRequest(items=[item]), c.HoldReply, who)
    r: c.ReservationView = held.reservations[0]
    return r


async def join(
    booking: Booking, who: Principal, resource: uuid.UUID, start: datetime, hours: int = 1
) -> c.WaitlistEntryView:
    request = c.JoinWaitlistRequest(
        resource_id=resource, starts_at=start, ends_at=start + timedelta(hours=hours)
    )
    entry: c.WaitlistEntryView = await booking.call(
        "join_waitlist", request, c.WaitlistEntryView, who
    )
    return entry


async def mine(booking: Booking, who: Principal) -> dict[uuid.UUID, c.WaitlistEntryView]:
    found = await booking.call("my_waitlist", c.MyWaitlistRequest(), c.WaitlistList, who)
    return {e.entry_id: e for e in found.entries}


async def state_of(booking: Booking, who: Principal, entry_id: uuid.UUID) -> str:
    return (await mine(booking, who))[entry_id].state


async def until_state(booking: Booking, who: Principal, entry_id: uuid.UUID, state: str) -> None:
    async def reached() -> bool:
        return await state_of(booking, who, entry_id) == state

    await booking.eventually(reached, timeout=10.0)


async def offers(booking: Booking) -> list[dict[str, Any]]:
    return await booking.events(c.WaitlistOffered.subject)


async def cancel(booking: Booking, r: c.ReservationView, who: Principal = RESIDENT) -> None:
    request = c.CancelRequest(reservation_id=r.reservation_id)
    await booking.call("cancel", request, c.CancelReply, who)


async def test_queue_of_two_cancellation_offers_the_first(booking: Booking) -> None:
    hall = await booking.add_resource(1)
    start = local(next_weekday(1), 10)
    taken = await take(booking, hall, start)
    first = await join(booking, BEA, hall, start)
    second = await join(booking, CAI, hall, start)
    assert (first.state, first.position, second.position) == ("waiting", 1, 2)

    await cancel(booking, taken)
    await until_state(booking, BEA, first.entry_id, "offered")
    offered = (await mine(booking, BEA))[first.entry_id]
    assert offered.reservation_id is not None
    assert offered.offer_expires_at is not None
    hold = await booking.call(
        "get", c.ReservationRef(reservation_id=offered.reservation_id), c.ReservationView, BEA
    )
    assert (hold.customer, hold.state, hold.starts_at) == (BEA.subject, "held", start)
    assert hold.expires_at == offered.offer_expires_at
    still = (await mine(booking, CAI))[second.entry_id]
    assert (still.state, still.position) == ("waiting", 1)
    [event] = await offers(booking)
    assert event["entry_id"] == str(first.entry_id)
    assert event["reservation_id"] == str(offered.reservation_id)
    assert event["customer"] == BEA.subject
    for collect in metrics.collectors(booking.pool):
        await collect()
    assert metrics.WAITLIST_WAITING._value.get() == 1  # Cai
    assert metrics.WAITLIST_OFFERS._value.get() == 1  # Bea's


async def test_a_lapsed_offer_goes_to_the_second(quick_offers: Booking) -> None:
    booking = quick_offers
    hall = await booking.add_resource(1)
    start = local(next_weekday(2), 12)
    taken = await take(booking, hall, start)
    first = await join(booking, BEA, hall, start)
    second = await join(booking, CAI, hall, start)
    await cancel(booking, taken)
    await until_state(booking, BEA, first.entry_id, "offered")
    # Bea does nothing: her hold expires (the sweeper), the offer lapses, Cai gets the time.
    await until_state(booking, CAI, second.entry_id, "offered")
    lapsed = (await mine(booking, BEA))[first.entry_id]
    assert lapsed.state == "lapsed"
    assert [e["customer"] for e in await offers(booking)] == [BEA.subject, CAI.subject]


async def test_a_declined_offer_goes_to_the_next_and_its_hold_is_released(
    booking: Booking,
) -> None:
    hall = await booking.add_resource(1)
    start = local(next_weekday(3), 14)
    taken = await take(booking, hall, start)
    first = await join(booking, BEA, hall, start)
    second = await join(booking, CAI, hall, start)
    await cancel(booking, taken)
    await until_state(booking, BEA, first.entry_id, "offered")
    offered = (await mine(booking, BEA))[first.entry_id]

    declined = await booking.call(
        "decline_offer", c.WaitlistRef(entry_id=first.entry_id), c.WaitlistEntryView, BEA
    )
    assert declined.state == "declined"
    assert offered.reservation_id is not None
    hold = await booking.call(
        "get", c.ReservationRef(reservation_id=offered.reservation_id), c.ReservationView, BEA
    )
    assert hold.state == "released"
    await until_state(booking, CAI, second.entry_id, "offered")
    again = await booking.call(  # declining twice changes nothing
        "decline_offer", c.WaitlistRef(entry_id=first.entry_id), c.WaitlistEntryView, BEA
    )
    assert again.state == "declined"


async def test_leaving_the_queue_and_an_offer(booking: Booking) -> None:
    hall = await booking.add_resource(1)
    start = local(next_weekday(4), 9)
    taken = await take(booking, hall, start)
    first = await join(booking, BEA, hall, start)
    second = await join(booking, CAI, hall, start)
    third = await join(booking, DAN, hall, start)
    with pytest.raises(NotFound):  # another's entry is not there for them
        await booking.call(
            "leave_waitlist", c.WaitlistRef(entry_id=first.entry_id), c.WaitlistEntryView, CAI
        )
    left = await booking.call(
        "leave_waitlist", c.WaitlistRef(entry_id=second.entry_id), c.WaitlistEntryView, CAI
    )
    assert left.state == "left"
    assert (await mine(booking, DAN))[third.entry_id].position == 2
    await cancel(booking, taken)
    await until_state(booking, BEA, first.entry_id, "offered")
    gone = await booking.call(  # leaving with an offer out gives it to the next
        "leave_waitlist", c.WaitlistRef(entry_id=first.entry_id), c.WaitlistEntryView, BEA
    )
    assert gone.state == "left"
    await until_state(booking, DAN, third.entry_id, "offered")
    assert await state_of(booking, CAI, second.entry_id) == "left"


async def test_joining_refuses_what_is_not_a_queue(booking: Booking) -> None:
    hall = await booking.add_resource(1)
    start = local(next_weekday(1), 16)
    with pytest.raises(Conflict) as free:
        await join(booking, BEA, hall, start)
    assert free.value.field == "starts_at"
    await take(booking, hall, start)
    await join(booking, BEA, hall, start)
    with pytest.raises(Conflict) as twice:
        await join(booking, BEA, hall, start)
    assert twice.value.field == "starts_at"
    with pytest.raises(ValidationFailed) as unknown:
        await join(booking, BEA, uuid.uuid4(), start)
    assert unknown.value.field == "resource_id"
    with pytest.raises(ValidationFailed) as naive:
        await booking.call(
            "join_waitlist",
            c.JoinWaitlistRequest(
                resource_id=hall,
                starts_at=start.replace(tzinfo=None),
                ends_at=start.replace(tzinfo=None) + timedelta(hours=1),
            ),
            c.WaitlistEntryView,
            CAI,
        )
    assert naive.value.field == "starts_at"
    waiting = next(iter((await mine(booking, BEA)).values()))
    with pytest.raises(Conflict):  # nothing offered yet: nothing to decline
        await booking.call(
            "decline_offer", c.WaitlistRef(entry_id=waiting.entry_id), c.WaitlistEntryView, BEA
        )
    assert (await mine(booking, CAI)) == {}
    assert await state_of(booking, BEA, waiting.entry_id) == "waiting"


async def test_a_customer_may_wait_for_so_many_times_at_once(hosted: Any, nc: NATS) -> None:
    settings = BookingSettings(demo_data=True, waitlist_max_entries=2)
    async with hosted_booking(hosted, nc, settings) as booking:
        hall = await booking.add_resource(1)
        day = next_weekday(2)
        for hour in (10, 11, 12):
            await take(booking, hall, local(day, hour))
        await join(booking, BEA, hall, local(day, 10))
        await join(booking, BEA, hall, local(day, 11))
        with pytest.raises(LimitReached):
            await join(booking, BEA, hall, local(day, 12))
        assert len(await mine(booking, BEA)) == 2


async def test_two_frees_at_once_give_one_offer(booking: Booking) -> None:
    hall = await booking.add_resource(1)
    day = next_weekday(3)
    early = await take(booking, hall, local(day, 10))
    late = await take(booking, hall, local(day, 11), who=DAN)
    waiting = await join(booking, BEA, hall, local(day, 10), hours=2)
    await join(booking, CAI, hall, local(day, 10), hours=2)
    await asyncio.gather(cancel(booking, early), cancel(booking, late, DAN))
    await until_state(booking, BEA, waiting.entry_id, "offered")
    await asyncio.sleep(0.5)  # both events handled
    assert len(await offers(booking)) == 1
    offered = await booking.pool.fetchval(
        "SELECT count(*) FROM waitlist_entries WHERE state = 'offered'"
    )
    assert offered == 1


async def test_offering_the_same_free_time_from_many_replicas_at_once_offers_once(
    booking: Booking,
) -> None:
    hall = await booking.add_resource(1)
    start = local(next_weekday(4), 13)
    taken = await take(booking, hall, start)
    for who in (BEA, CAI, DAN):
        await join(booking, who, hall, start)
    # The time freed behind the consumer's back (no event): eight offerers race for it.
    await booking.pool.execute(
        "UPDATE reservations SET state = 'cancelled' WHERE id = $1", taken.reservation_id
    )
    offerers = Offers(Bookings(booking.pool, BookingSettings()))

    async def offer() -> int:
        async with booking.pool.acquire() as conn, conn.transaction():
            return len(await offerers.offer_freed(conn, hall, start, start + timedelta(hours=1)))

    made = await asyncio.gather(*(offer() for _ in range(8)))
    assert sum(made) == 1
    assert [e["customer"] for e in await offers(booking)] == [BEA.subject]


async def test_the_schema_refuses_a_second_offer_of_a_time(booking: Booking) -> None:
    hall = await booking.add_resource(1)
    start = local(next_weekday(1), 8)
    await take(booking, hall, start)
    first = await join(booking, BEA, hall, start)
    second = await join(booking, CAI, hall, start)
    sql = """UPDATE waitlist_entries SET state = 'offered', reservation_id = $2
             WHERE id = $1"""
    await booking.pool.execute(sql, first.entry_id, uuid.uuid4())
    with pytest.raises(asyncpg.ExclusionViolationError):
        await booking.pool.execute(sql, second.entry_id, uuid.uuid4())


async def test_redelivered_events_give_no_second_offer(booking: Booking, nc: NATS) -> None:
    hall = await booking.add_resource(1)
    start = local(next_weekday(2), 15)
    taken = await take(booking, hall, start)
    first = await join(booking, BEA, hall, start)
    await join(booking, CAI, hall, start)
    await cancel(booking, taken)
    await until_state(booking, BEA, first.entry_id, "offered")
    [cancelled] = await booking.events(c.ReservationCancelled.subject)

    # The same event again, past JetStream's duplicate window (another message id).
    js = nc.jetstream()
    payload = msgspec.json.encode(cancelled)
    await js.publish(c.ReservationCancelled.subject, payload, headers={"Nats-Msg-Id": "again"})

    async def handled() -> bool:
        info = await js.consumer_info("EVENTS", "booking-waitlist")
        return info.num_pending == 0 and info.num_ack_pending == 0

    await booking.eventually(handled, timeout=10.0)
    # And the same news applied again directly (e.g. another replica, another event id).
    again = msgspec.json.decode(payload, type=c.ReservationCancelled)
    offerers = Offers(Bookings(booking.pool, BookingSettings()))
    async with booking.pool.acquire() as conn, conn.transaction():
        await offerers.on_reservation(conn, msgspec.structs.replace(again, event_id=uuid.uuid4()))
    assert len(await offers(booking)) == 1
    assert await state_of(booking, BEA, first.entry_id) == "offered"


@pytest.fixture
async def suite(hosted: Any, common_settings: CommonSettings, tmp_path: Path) -> AsyncIterator[Any]:
    """The gateway in front of the real booking, cart, payment and notify services."""
    async with gateway_before_services(hosted, common_settings, tmp_path) as client:
        yield client


async def _free_hall_slot(client: Any) -> dict[str, Any]:
    first = (date.today() + timedelta(days=3)).isoformat()
    last = (date.today() + timedelta(days=10)).isoformat()
    free = await client.get(
        f"/api/v1/resources/{demo.RESOURCE_SPORTS_HALL}/availability",
        params={"first": first, "last": last},
    )
    assert free.status_code == 200, free.text
    slot: dict[str, Any] = free.json()["slots"][0]
    return {"resource_id": str(demo.RESOURCE_SPORTS_HALL), **slot}


@pytest.mark.timeout(120)
async def test_the_offered_hold_goes_into_the_cart_and_is_paid_on_another_device(
    suite: Any,
) -> None:
    client = suite
    other = await bearer(client, "resident-kaarina")
    phone = await bearer(client, "resident-turku")  # where the resident queued

    def keyed(auth: dict[str, str]) -> dict[str, str]:
        return {**auth, "Idempotency-Key": uuid.uuid4().hex}

    slot = await _free_hall_slot(client)
    time_ = {k: slot[k] for k in ("resource_id", "starts_at", "ends_at")}
    held = await client.post("/api/v1/holds", json={"items": [time_]}, headers=keyed(other))
    assert held.status_code == 201, held.text
    joined = await client.post("/api/v1/waitlist", json=time_, headers=keyed(phone))
    assert joined.status_code == 201, joined.text
    assert (joined.json()["state"], joined.json()["position"]) == ("waiting", 1)
    entry_id = joined.json()["entry_id"]
    released = await client.post(
        f"/api/v1/reservations/{held.json()['reservations'][0]['reservation_id']}/release",
        headers=keyed(other),
    )
    assert released.status_code in (200, 201), released.text

    laptop = await bearer(client, "resident-turku")  # signed in again elsewhere
    entry: dict[str, Any] = {}
    for _ in range(200):
        entries = (await client.get("/api/v1/waitlist", headers=laptop)).json()["entries"]
        entry = next(e for e in entries if e["entry_id"] == entry_id)
        if entry["state"] == "offered":
            break
        await asyncio.sleep(0.05)
    assert entry["state"] == "offered", entry
    reservation_id = entry["reservation_id"]
    added = await client.post(
        "/api/v1/cart/reservations", json={"reservation_id": reservation_id}, headers=keyed(laptop)
    )
    assert added.status_code == 201, added.text
    assert added.json()["total_cents"] > 0
    order = (await client.post("/api/v1/cart/checkout", headers=keyed(laptop))).json()
    payment = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=keyed(laptop)
    )
    assert payment.status_code == 201, payment.text
    paid = await client.post(
        f"/pay/local/{payment.json()['payment_id']}", data={"decision": "pay"}, headers=laptop
    )
    assert paid.status_code == 200, paid.text

    state = ""
    for _ in range(200):
        got = await client.get(f"/api/v1/reservations/{reservation_id}", headers=laptop)
        state = got.json()["state"]
        if state == "confirmed":
            break
        await asyncio.sleep(0.05)
    assert state == "confirmed"
    for _ in range(100):
        entries = (await client.get("/api/v1/waitlist", headers=phone)).json()["entries"]
        if entries[0]["state"] == "accepted":
            break
        await asyncio.sleep(0.05)
    assert entries[0]["state"] == "accepted"
    # Nobody else may decline or leave it.
    gone = await client.post(f"/api/v1/waitlist/{entry_id}/leave", headers=keyed(other))
    assert gone.status_code == 404, gone.text


async def test_a_residents_waiting_list_is_in_their_data_and_erased_with_it(
    booking: Booking,
) -> None:
    hall = await booking.add_resource(1)
    start = local(next_weekday(1), 12)
    await take(booking, hall, start)
    entry = await join(booking, BEA, hall, start)
    audit = Principal(subject="system:audit", roles=("system",), kind="service")
    found = await booking.call(
        "personal_data", a.PersonalDataRequest(customer=BEA.subject), a.PersonalData, audit
    )
    [row] = found.tables["waitlist_entries"]
    assert row["id"] == str(entry.entry_id)
    assert "booker" not in row  # what an offer needs to price it: not shown as data
    erase = a.ErasePersonalDataRequest(customer=BEA.subject, pseudonym="erased:" + "0" * 32)
    counts = await booking.call("erase_personal_data", erase, a.ErasedCounts, audit)
    assert counts.removed["waitlist_entries"] == 1
    assert await mine(booking, BEA) == {}


@pytest.mark.timeout(120)
async def test_a_resident_joins_from_the_week_page_sees_the_queue_and_leaves(
    suite: Any,
) -> None:
    client = suite
    other = await bearer(client, "resident-kaarina")
    me = await bearer(client, "resident-turku")
    slot = await _free_hall_slot(client)
    time_ = {k: slot[k] for k in ("resource_id", "starts_at", "ends_at")}
    free = await client.post("/api/v1/waitlist", json=time_, headers=me)  # book it instead
    assert free.status_code == 409, free.text
    assert free.headers["content-type"].startswith("application/problem+json")
    assert (free.json()["code"], free.json()["field"]) == ("conflict", "starts_at")
    stray = await client.post("/api/v1/waitlist", json={**time_, "seat": 3}, headers=me)
    assert stray.status_code == 400, stray.text
    assert stray.json()["field"] == "seat"
    held = await client.post(
        "/api/v1/holds", json={"items": [time_]}, headers={**other, "Idempotency-Key": "h1"}
    )
    assert held.status_code == 201, held.text
    starts = datetime.fromisoformat(slot["starts_at"])
    monday = starts.astimezone(HEL).date() - timedelta(days=starts.astimezone(HEL).weekday())
    week = await client.get(
        f"/resources/{demo.RESOURCE_SPORTS_HALL}",
        params={"week": monday.isoformat(), "lang": "en"},
        headers=me,
    )
    assert week.status_code == 200, week.text
    assert "Join the waiting list" in week.text
    assert 'form="waitlist-form"' in week.text
    value = f"{slot['starts_at']}|{slot['ends_at']}"
    assert f'value="{value}"' in week.text  # the taken slot's own button

    form = {"resource_id": str(demo.RESOURCE_SPORTS_HALL), "slot": value, "key": "page-1"}
    joined = await client.post("/waitlist", data=form, headers=me)
    assert joined.status_code == 303, joined.text
    assert joined.headers["location"].startswith("/waitlist")
    again = await client.post("/waitlist", data=form, headers=me)  # a double submit
    assert again.status_code == 303, again.text
    for lang, waiting, place in (
        ("fi", "Jonossa", "Sija jonossa"),
        ("sv", "I kö", "Plats i kön"),
        ("en", "Waiting", "Place in the queue"),
    ):
        listed = await client.get("/waitlist", params={"lang": lang}, headers=me)
        assert listed.status_code == 200, listed.text
        assert waiting in listed.text
        assert place in listed.text
        assert listed.text.count('data-state="waiting"') == 1
    entries = (await client.get("/api/v1/waitlist", headers=me)).json()["entries"]
    assert len(entries) == 1
    left = await client.post(
        f"/waitlist/{entries[0]['entry_id']}/leave", data={"key": "leave-1"}, headers=me
    )
    assert left.status_code == 303, left.text
    entries = (await client.get("/api/v1/waitlist", headers=me)).json()["entries"]
    assert entries[0]["state"] == "left"
