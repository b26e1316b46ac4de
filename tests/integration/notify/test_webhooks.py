"""Webhooks to integrators, end to end: booking's events -> notify's consumer -> the delivery
loop -> a real HTTP receiver (aiohttp), signatures checked with the `standardwebhooks`
package's own verifier."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client as NATS
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook

from services.notify import webhook_metrics
from services.notify.app import MIGRATIONS, build
from services.notify.settings import NotifySettings
from services.notify.webhook_sender import WebhookSender
from services.notify.webhooks import WEBHOOK_DELIVERIES, Webhooks, on_event
from shared import retention
from shared.contracts import booking as b
from shared.contracts import webhooks as w
from shared.contracts.common import Principal, RequestContext, utcnow
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.messaging import Requester
from tests.conftest import clean_schema
from tests.integration.booking.conftest import RESIDENT, SPORTS_STAFF, Booking
from tests.integration.notify.conftest import confirm, eventually, fast_settings, free_booking
from tests.integration.notify.receiver import Receiver
from tests.integration.notify.smtp import SmtpServer

pytestmark = pytest.mark.timeout(60)

HEALTH_STAFF = Principal(subject="staff-health", roles=("staff",), departments=("health",))
ADMIN = Principal(subject="admin-anna", roles=("admin",))
CONFIRMED = "evt.booking.reservation.confirmed"
HELD = "evt.booking.reservation.held"
CANCELLED = "evt.booking.reservation.cancelled"
GIVE_UP_AFTER_S = 4.0
TIMEOUT_S = 1.0


@dataclass
class Hooks:
    pool: asyncpg.Pool
    requester: Requester
    settings: NotifySettings

    async def call(self, op: str, request: Any, reply: type, principal: Principal | None) -> Any:
        ctx = RequestContext(principal=principal, request_id=uuid.uuid4().hex)
        return await self.requester.call(f"notify.v1.{op}", request, reply, ctx=ctx)

    async def subscribe(
        self, url: str, *event_types: str, who: Principal = HEALTH_STAFF, merchant: str = "health"
    ) -> w.WebhookCreated:
        req = w.CreateWebhookRequest(merchant_id=merchant, url=url, event_types=list(event_types))  # type: ignore[arg-type]
        created: w.WebhookCreated = await self.call("create_webhook", req, w.WebhookCreated, who)
        return created

    async def log(
        self, subscription_id: uuid.UUID, who: Principal = HEALTH_STAFF
    ) -> list[w.WebhookDeliveryView]:
        req = w.WebhookDeliveriesRequest(subscription_id=subscription_id)
        reply = await self.call("webhook_deliveries", req, w.WebhookDeliveryList, who)
        return list(reply.deliveries)

    async def replay(
        self, delivery_id: uuid.UUID, who: Principal = HEALTH_STAFF
    ) -> w.WebhookDeliveryView:
        req = w.ReplayWebhookDeliveryRequest(delivery_id=delivery_id)
        view: w.WebhookDeliveryView = await self.call(
            "replay_webhook_delivery", req, w.WebhookDeliveryView, who
        )
        return view


@pytest.fixture
async def hooks(hosted: Any, nc: NATS, smtp: SmtpServer) -> AsyncIterator[Hooks]:
    settings = fast_settings(
        smtp,
        webhook_timeout_s=TIMEOUT_S,
        webhook_retry_base_s=0.1,
        webhook_retry_max_s=0.4,
        webhook_give_up_after_s=GIVE_UP_AFTER_S,
        webhook_claim_s=3.0,
        webhook_allow_insecure=True,  # the receiver is plain http on 127.0.0.1
    )
    async with hosted("notify", lambda infra: build(infra, settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "notify")
        try:
            yield Hooks(pool, Requester(nc, 10.0), settings)
        finally:
            await clean_schema(pool, "notify")


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    started: list[Receiver] = []
    try:
        yield started
    finally:
        for receiver in started:
            await receiver.stop()


async def receiver(started: list[Receiver], **options: Any) -> Receiver:
    one = await Receiver(**options).start()
    started.append(one)
    return one


def posts(outcome: str) -> float:
    found = REGISTRY.get_sample_value("tcs_notify_webhook_posts_total", {"outcome": outcome})
    return found or 0.0


def types_of(receiver: Receiver) -> list[str]:
    return [msgspec.json.decode(r.body)["type"] for r in receiver.received]


async def test_receiver_failing_five_times_gets_the_event_once_it_answers_signed_verifiably(
    booking: Booking, hooks: Hooks, receivers: list[Receiver]
) -> None:
    down = await receiver(receivers, fail_first=5, fail_status=503)
    created = await hooks.subscribe(down.url, CONFIRMED)
    assert created.secret.startswith("whsec_")
    before = {o: posts(o) for o in ("retry", "delivered")}
    rid = await free_booking(booking)
    await confirm(booking, rid)

    await eventually(lambda: len(down.accepted) == 1)
    await asyncio.sleep(0.5)  # nothing more comes once it was taken
    assert [r.answered for r in down.received] == [503] * 5 + [200]
    assert len({r.headers["webhook-id"] for r in down.received}) == 1  # one message, retried
    last = down.accepted[0]
    event = Webhook(created.secret).verify(last.body, last.headers)  # type: ignore[no-untyped-call]
    assert event["type"] == CONFIRMED
    assert event["data"]["reservation_id"] == str(rid)
    assert event["data"]["merchant_id"] == "health"
    gaps = [b.at - a.at for a, b in zip(down.received, down.received[1:], strict=False)]
    assert gaps[2] >= 0.4 > gaps[0]  # backed off: 0.1 s doubling up to 0.4 s

    [logged] = await hooks.log(created.subscription.subscription_id)
    assert (logged.state, logged.attempts, logged.last_status) == ("delivered", 6, 200)
    assert logged.delivery_id == uuid.UUID(last.headers["webhook-id"])
    assert logged.event_type == CONFIRMED
    assert logged.ordering_key == f"reservation:{rid}"
    assert (posts("retry") - before["retry"], posts("delivered") - before["delivered"]) == (5, 1)


async def test_a_receiver_down_for_good_is_given_up_after_the_bounded_time(
    booking: Booking, hooks: Hooks, receivers: list[Receiver]
) -> None:
    down = await receiver(receivers, fail_first=10**6)
    created = await hooks.subscribe(down.url, CONFIRMED)
    await confirm(booking, await free_booking(booking))
    sid = created.subscription.subscription_id

    async def failed() -> bool:
        return [d.state for d in await hooks.log(sid)] == ["failed"]

    await eventually(failed, timeout=GIVE_UP_AFTER_S + 5)
    tries = len(down.received)
    await asyncio.sleep(0.5)
    assert len(down.received) == tries  # no more tries
    [logged] = await hooks.log(sid)
    assert logged.last_error == "gave up: HTTP 500"
    assert logged.next_attempt_at is None
    assert 3 <= logged.attempts == tries


async def test_deliveries_of_one_reservation_arrive_in_order_each_waiting_for_the_earlier(
    booking: Booking, hooks: Hooks, receivers: list[Receiver]
) -> None:
    flaky = await receiver(receivers, fail_first=4)
    created = await hooks.subscribe(flaky.url, HELD, CONFIRMED, CANCELLED)
    rid = await free_booking(booking)
    await confirm(booking, rid)
    await booking.call("cancel", b.CancelRequest(reservation_id=rid), b.CancelReply, RESIDENT)

    await eventually(lambda: len(flaky.accepted) == 3)
    seen = types_of(flaky)
    # The held event was refused 4 times; the later ones waited for it, never overtaking.
    assert seen == [HELD] * 5 + [CONFIRMED, CANCELLED]
    logged = await hooks.log(created.subscription.subscription_id)
    assert [d.event_type for d in logged] == [CANCELLED, CONFIRMED, HELD]  # newest first
    assert {d.state for d in logged} == {"delivered"}


async def test_a_slow_receiver_slows_neither_booking_nor_the_other_receivers(
    booking: Booking, hooks: Hooks, receivers: list[Receiver]
) -> None:
    slow = await receiver(receivers, delay_s=30.0)  # never answers within the timeout
    fast = await receiver(receivers)
    await hooks.subscribe(slow.url, CONFIRMED)
    await hooks.subscribe(fast.url, CONFIRMED)
    took = []
    for minute in (0, 20, 40):
        rid = await free_booking(booking, minute=minute)
        started = time.monotonic()
        await confirm(booking, rid)
        took.append(time.monotonic() - started)
    assert max(took) < 0.5, took
    started = time.monotonic()
    await eventually(lambda: len(fast.accepted) == 3, timeout=5.0)
    assert time.monotonic() - started < TIMEOUT_S * 2  # not queued behind the slow one
    assert slow.accepted == []


async def test_replay_sends_the_same_delivery_again_freshly_signed(
    booking: Booking, hooks: Hooks, receivers: list[Receiver]
) -> None:
    ok = await receiver(receivers)
    created = await hooks.subscribe(ok.url, CONFIRMED)
    await confirm(booking, await free_booking(booking))
    await eventually(lambda: len(ok.accepted) == 1)
    [first] = await hooks.log(created.subscription.subscription_id)
    await asyncio.sleep(1.1)  # a new webhook-timestamp

    replayed = await hooks.replay(first.delivery_id)
    assert (replayed.state, replayed.replays, replayed.attempts) == ("pending", 1, 0)
    await eventually(lambda: len(ok.accepted) == 2)
    one, two = ok.accepted
    assert one.headers["webhook-id"] == two.headers["webhook-id"] == str(first.delivery_id)
    assert one.body == two.body
    assert one.headers["webhook-timestamp"] != two.headers["webhook-timestamp"]
    Webhook(created.secret).verify(two.body, two.headers)  # type: ignore[no-untyped-call]
    [again] = await hooks.log(created.subscription.subscription_id)
    assert (again.state, again.replays, again.attempts) == ("delivered", 1, 1)


async def test_staff_of_another_department_can_neither_see_nor_replay_nor_deactivate(
    booking: Booking, hooks: Hooks, receivers: list[Receiver]
) -> None:
    ok = await receiver(receivers)
    created = await hooks.subscribe(ok.url, CONFIRMED)
    sid = created.subscription.subscription_id
    await confirm(booking, await free_booking(booking))
    await eventually(lambda: len(ok.accepted) == 1)
    [delivery] = await hooks.log(sid)

    with pytest.raises(Forbidden):
        await hooks.subscribe(ok.url, CONFIRMED, who=SPORTS_STAFF)  # for health
    with pytest.raises(Forbidden):
        await hooks.subscribe(ok.url, CONFIRMED, who=RESIDENT, merchant="health")
    req = w.ListWebhooksRequest(merchant_id="health")
    with pytest.raises(Forbidden):
        await hooks.call("list_webhooks", req, w.WebhookList, SPORTS_STAFF)
    theirs = await hooks.call("list_webhooks", w.ListWebhooksRequest(), w.WebhookList, SPORTS_STAFF)
    assert theirs.subscriptions == []
    with pytest.raises(NotFound):
        await hooks.log(sid, who=SPORTS_STAFF)
    with pytest.raises(NotFound):
        await hooks.replay(delivery.delivery_id, who=SPORTS_STAFF)
    stop = w.DeactivateWebhookRequest(subscription_id=sid)
    with pytest.raises(NotFound):
        await hooks.call("deactivate_webhook", stop, w.WebhookView, SPORTS_STAFF)
    await asyncio.sleep(0.3)
    assert len(ok.received) == 1  # nothing was replayed

    # Their own department's staff and admins may; the list never shows the secret.
    ours = await hooks.call("list_webhooks", w.ListWebhooksRequest(), w.WebhookList, HEALTH_STAFF)
    assert [s.subscription_id for s in ours.subscriptions] == [sid]
    assert created.secret not in msgspec.json.encode(ours).decode()
    assert [d.delivery_id for d in await hooks.log(sid, who=ADMIN)] == [delivery.delivery_id]


async def test_a_deactivated_subscription_gets_nothing_more_and_cannot_be_replayed(
    booking: Booking, hooks: Hooks, receivers: list[Receiver]
) -> None:
    ok = await receiver(receivers)
    created = await hooks.subscribe(ok.url, CONFIRMED)
    sid = created.subscription.subscription_id
    await confirm(booking, await free_booking(booking))
    await eventually(lambda: len(ok.accepted) == 1)
    [delivery] = await hooks.log(sid)
    req = w.DeactivateWebhookRequest(subscription_id=sid)
    view = await hooks.call("deactivate_webhook", req, w.WebhookView, HEALTH_STAFF)
    assert not view.active
    assert view.deactivated_at is not None

    await confirm(booking, await free_booking(booking, minute=20))
    await asyncio.sleep(0.8)
    assert len(ok.received) == 1
    assert len(await hooks.log(sid)) == 1
    with pytest.raises(Conflict):
        await hooks.replay(delivery.delivery_id)
    listed = await hooks.call("list_webhooks", w.ListWebhooksRequest(), w.WebhookList, ADMIN)
    assert listed.subscriptions == []
    req_all = w.ListWebhooksRequest(include_inactive=True)
    listed = await hooks.call("list_webhooks", req_all, w.WebhookList, ADMIN)
    assert [s.subscription_id for s in listed.subscriptions] == [sid]


async def test_a_pending_delivery_cannot_be_replayed_and_deactivating_gives_it_up(
    booking: Booking, hooks: Hooks, receivers: list[Receiver]
) -> None:
    down = await receiver(receivers, fail_first=10**6)
    created = await hooks.subscribe(down.url, CONFIRMED)
    await confirm(booking, await free_booking(booking))
    await eventually(lambda: len(down.received) >= 1)
    [pending] = await hooks.log(created.subscription.subscription_id)
    assert pending.state == "pending"
    await webhook_metrics.collector(hooks.pool)()
    assert REGISTRY.get_sample_value("tcs_notify_webhook_pending") == 1
    assert (REGISTRY.get_sample_value("tcs_notify_webhook_oldest_pending_age_seconds") or 0) > 0
    with pytest.raises(Conflict) as refused:
        await hooks.replay(pending.delivery_id)
    assert refused.value.details["state"] == "pending"

    # Deactivating the subscription gives its pending deliveries up: no more tries.
    stop = w.DeactivateWebhookRequest(subscription_id=created.subscription.subscription_id)
    await hooks.call("deactivate_webhook", stop, w.WebhookView, HEALTH_STAFF)
    tries = len(down.received)
    await asyncio.sleep(1.0)
    assert len(down.received) <= tries + 1  # at most the one in flight
    [given_up] = await hooks.log(created.subscription.subscription_id)
    assert (given_up.state, given_up.last_error) == ("failed", "subscription deactivated")


async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    hooks: Hooks, receivers: list[Receiver]
) -> None:
    ok = await receiver(receivers)
    with pytest.raises(ValidationFailed) as refused:
        await hooks.subscribe(ok.url, "evt.cart.order.paid")
    assert refused.value.field is not None
    assert refused.value.field.startswith("event_types")
    with pytest.raises(ValidationFailed) as refused:
        await hooks.subscribe("ftp://127.0.0.1/hook", CONFIRMED)
    assert refused.value.field == "url"
    with pytest.raises(ValidationFailed) as refused:
        await hooks.subscribe(ok.url)
    assert refused.value.field == "event_types"
    with pytest.raises(NotFound):
        await hooks.replay(uuid.uuid4())
    assert await hooks.pool.fetchval("SELECT count(*) FROM webhook_subscriptions") == 0


async def test_outside_development_a_plain_http_url_is_refused(hooks: Hooks) -> None:
    strict = Webhooks(hooks.pool, allow_insecure=False)
    req = w.CreateWebhookRequest(
        merchant_id="health", url="http://127.0.0.1:9/hook", event_types=[CONFIRMED]
    )
    with pytest.raises(ValidationFailed) as refused:
        await strict.create_webhook(req, RequestContext(principal=HEALTH_STAFF))
    assert refused.value.field == "url"
    assert await hooks.pool.fetchval("SELECT count(*) FROM webhook_subscriptions") == 0


async def test_one_delivery_per_subscription_and_event_however_often_it_comes(
    booking: Booking, hooks: Hooks, receivers: list[Receiver], nc: NATS
) -> None:
    ok = await receiver(receivers)
    created = await hooks.subscribe(ok.url, CONFIRMED)
    rid = await free_booking(booking)
    await confirm(booking, rid)
    await eventually(lambda: len(ok.accepted) == 1)
    [payload] = [
        msgspec.json.encode(e)
        for e in await booking.events(CONFIRMED)
        if e["reservation_id"] == str(rid)
    ]
    js = nc.jetstream()
    for _ in range(3):  # the same event again, as new stream messages (no Nats-Msg-Id)
        await js.publish(CONFIRMED, payload)
    await asyncio.sleep(1.0)
    assert len(ok.received) == 1
    assert len(await hooks.log(created.subscription.subscription_id)) == 1


def reservation_event(
    kind: type[b.ReservationEvent], reservation_id: uuid.UUID, merchant_id: str = "health"
) -> b.ReservationEvent:
    now = utcnow()
    return kind(
        reservation_id=reservation_id, resource_id=uuid.uuid4(), unit_id=uuid.uuid4(),
        customer="resident-aino", state="held", starts_at=now, ends_at=now,
        merchant_id=merchant_id,
    )  # fmt: skip


async def consume(hooks: Hooks, events: list[b.ReservationEvent]) -> None:
    """The consumer's handler, each event in a transaction of its own, as run_consumer does."""
    async with hooks.pool.acquire() as conn:
        for event in events:
            async with conn.transaction():
                await on_event(conn, event)


async def test_a_subscription_gets_only_its_departments_events_of_its_subjects(
    hooks: Hooks, receivers: list[Receiver]
) -> None:
    ok = await receiver(receivers)
    created = await hooks.subscribe(ok.url, CONFIRMED)
    rid = uuid.uuid4()
    await consume(
        hooks,
        [
            reservation_event(b.ReservationConfirmed, uuid.uuid4(), merchant_id="sports"),
            reservation_event(b.ReservationHeld, rid),  # a subject it did not ask for
            reservation_event(b.ReservationConfirmed, rid),
        ],
    )
    await eventually(lambda: len(ok.accepted) == 1)
    await asyncio.sleep(0.5)
    assert types_of(ok) == [CONFIRMED]
    assert msgspec.json.decode(ok.received[0].body)["data"]["merchant_id"] == "health"
    assert len(await hooks.log(created.subscription.subscription_id)) == 1


async def test_two_delivery_loops_at_once_deliver_each_once_in_order_per_reservation(
    hooks: Hooks, receivers: list[Receiver]
) -> None:
    """The hosted service's loop and a second one (another replica) share the deliveries."""
    flaky = await receiver(receivers, fail_first=10)
    await hooks.subscribe(flaky.url, HELD, CONFIRMED, CANCELLED)
    second, stop = WebhookSender(hooks.pool, hooks.settings), asyncio.Event()
    running = asyncio.create_task(second.run(stop))
    try:
        reservations = [uuid.uuid4() for _ in range(15)]
        kinds = (b.ReservationHeld, b.ReservationConfirmed, b.ReservationCancelled)
        await consume(hooks, [reservation_event(k, r) for k in kinds for r in reservations])
        await eventually(lambda: len(flaky.accepted) == 45, timeout=20.0)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await running
    ids = [r.headers["webhook-id"] for r in flaky.accepted]
    assert len(ids) == len(set(ids)) == 45  # each delivered once
    for rid in reservations:
        mine = [
            msgspec.json.decode(r.body)
            for r in flaky.received
            if msgspec.json.decode(r.body)["data"]["reservation_id"] == str(rid)
        ]
        firsts = list(dict.fromkeys(m["type"] for m in mine))
        assert firsts == [HELD, CONFIRMED, CANCELLED], (rid, [m["type"] for m in mine])
        last_held = max(i for i, m in enumerate(mine) if m["type"] == HELD)
        assert all(m["type"] == HELD for m in mine[: last_held + 1])  # never overtaken


async def test_finished_deliveries_are_purged_after_their_retention_pending_ones_never(
    hooks: Hooks, receivers: list[Receiver]
) -> None:
    down = await receiver(receivers, fail_first=1)  # the first try fails, the second is taken
    created = await hooks.subscribe(down.url, HELD, CONFIRMED)
    rid = uuid.uuid4()
    await consume(hooks, [reservation_event(b.ReservationConfirmed, uuid.uuid4())])
    await eventually(lambda: len(down.accepted) == 1)

    async def recorded() -> bool:  # the sender writes its outcome after the receiver's 2xx
        delivered = "SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'"
        return bool(await hooks.pool.fetchval(delivered) == 1)

    await eventually(recorded)
    await hooks.pool.execute(
        "UPDATE webhook_deliveries SET retry_from = now() - interval '31 days'"
    )
    async with hooks.pool.acquire() as conn, conn.transaction():
        await conn.execute(  # a pending one, as old: kept until it is done
            """INSERT INTO webhook_deliveries (id, subscription_id, event_id, subject,
                   ordering_key, payload, state, retry_from, next_attempt_at)
               VALUES ($1, $2, $3, $4, $5, '{}', 'pending', now() - interval '31 days',
                   now() + interval '1 hour')""",
            uuid.uuid4(), created.subscription.subscription_id, uuid.uuid4(), HELD,
            f"reservation:{rid}",
        )  # fmt: skip
    assert await retention.purge_kind(hooks.pool, WEBHOOK_DELIVERIES) == 1
    assert [d.state for d in await hooks.log(created.subscription.subscription_id)] == ["pending"]


async def test_writing_deliveries_locks_their_ordering_key_only_when_someone_subscribed(
    hooks: Hooks, receivers: list[Receiver], database_url: str
) -> None:
    """Two replicas writing deliveries of one reservation at once commit one after the other
    (a later `seq` is never visible before an earlier one), and the delivery loops are woken
    at commit; events nobody subscribed to pay for neither."""
    ok = await receiver(receivers)
    await hooks.subscribe(ok.url, CONFIRMED)
    mine = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    woken: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener("notify_webhooks", lambda *args: woken.append(args[1]))
    async with hooks.pool.acquire() as conn:
        async with conn.transaction():
            await on_event(conn, reservation_event(b.ReservationConfirmed, uuid.uuid4(), "sports"))
            assert await conn.fetchval(mine) == 0  # nobody of sports subscribed
        await asyncio.sleep(0.3)
        assert woken == []  # and no delivery loop woken for nothing
        rid = uuid.uuid4()
        async with conn.transaction():
            await on_event(conn, reservation_event(b.ReservationConfirmed, rid))
            assert await conn.fetchval(mine) == 1
            async with hooks.pool.acquire() as other:
                key = f"webhook:reservation:{rid}"
                taken = await other.fetchval(
                    "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key
                )
                assert taken is False  # the other replica would wait for our commit
        await eventually(lambda: len(woken) == 1)  # the delivery loops woke at commit
    await listener.close()


async def test_while_the_first_of_a_reservation_backs_off_the_later_ones_wait_with_it(
    hooks: Hooks, receivers: list[Receiver]
) -> None:
    down = await receiver(receivers, fail_first=10**6)
    created = await hooks.subscribe(down.url, HELD, CONFIRMED, CANCELLED)
    rid = uuid.uuid4()
    kinds = (b.ReservationHeld, b.ReservationConfirmed, b.ReservationCancelled)
    await consume(hooks, [reservation_event(k, rid) for k in kinds])
    await eventually(lambda: len(down.received) >= 4)  # retried after all three were written
    assert set(types_of(down)) == {HELD}  # only the first is ever tried
    rows = await hooks.pool.fetch(
        """SELECT subject, next_attempt_at, attempts FROM webhook_deliveries
           WHERE subscription_id = $1 ORDER BY seq""",
        created.subscription.subscription_id,
    )
    head, *later = rows
    assert [r["subject"] for r in rows] == [HELD, CONFIRMED, CANCELLED]
    assert head["attempts"] >= 2
    # Not due before the first one: the claim does not even look at them meanwhile.
    assert all(r["next_attempt_at"] >= head["next_attempt_at"] for r in later)
    assert all(r["attempts"] == 0 for r in later)


async def test_a_slow_receiver_with_many_deliveries_holds_only_a_few_slots(
    hooks: Hooks, receivers: list[Receiver]
) -> None:
    slow = await receiver(receivers, delay_s=30.0)  # every try times out
    fast = await receiver(receivers)
    await hooks.subscribe(slow.url, CONFIRMED)
    await hooks.subscribe(fast.url, CONFIRMED)
    await consume(
        hooks, [reservation_event(b.ReservationConfirmed, uuid.uuid4()) for _ in range(20)]
    )
    await eventually(lambda: len(fast.accepted) == 20, timeout=10.0)
    await eventually(lambda: slow.started >= 9, timeout=15.0)  # a third round of its tries
    assert slow.accepted == []
    # 20 deliveries due to it, 32 slots: it is given NOTIFY_WEBHOOK_PER_SUBSCRIPTION at a time.
    assert 1 <= slow.most_in_flight <= hooks.settings.webhook_per_subscription
