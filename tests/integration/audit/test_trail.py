"""The audit trail end to end: staff and system actions in booking reach the append-only,
hash-chained log through the outbox and JetStream; nobody can change or remove an entry; the
chain check finds an entry changed behind the triggers' back."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from services.audit import store
from services.booking.settings import BookingSettings
from shared.contracts import audit as a
from shared.contracts import booking as c
from shared.contracts.common import Principal, RequestContext
from shared.errors import Forbidden
from shared.messaging import Requester
from shared.settings import CommonSettings
from tests.integration.audit.conftest import Audit
from tests.integration.booking.conftest import (
    RESIDENT,
    SPORTS_STAFF,
    Booking,
    hosted_booking,
    local,
    next_weekday,
)

ADMIN = Principal(subject="admin-dpo", roles=("admin",))
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def booking(hosted: Any, nc: NATS) -> Any:
    async with hosted_booking(hosted, nc, BookingSettings(demo_data=True)) as running:
        yield running


async def call(
    booking: Booking, op: str, req: Any, reply: type, who: Principal, address: str = "10.1.2.3"
) -> tuple[Any, str]:
    ctx = RequestContext(principal=who, request_id=uuid.uuid4().hex, client_address=address)
    return await booking.requester.call(f"booking.v1.{op}", req, reply, ctx=ctx), ctx.request_id


async def audit_call(nc: NATS, op: str, req: Any, reply: type, who: Principal | None) -> Any:
    ctx = RequestContext(principal=who, request_id=uuid.uuid4().hex, client_address="10.9.9.9")
    return await Requester(nc, 10.0).call(f"audit.v1.{op}", req, reply, ctx=ctx)


async def test_a_staff_change_is_recorded_with_who_what_where_before_and_after(
    audit: Audit, booking: Booking, nc: NATS
) -> None:
    res = await booking.add_resource(1)
    rules = [
        c.PriceRuleIn(customer_group="resident", unit="hour", amount_cents=1500, vat_rate_bp=1000)
    ]
    _, first = await call(
        booking,
        "set_prices",
        c.SetPricesRequest(resource_id=res, rules=rules),
        c.Done,
        SPORTS_STAFF,
    )
    rules = [
        c.PriceRuleIn(customer_group="resident", unit="hour", amount_cents=2500, vat_rate_bp=1000)
    ]
    _, second = await call(
        booking,
        "set_prices",
        c.SetPricesRequest(resource_id=res, rules=rules),
        c.Done,
        SPORTS_STAFF,
    )
    entry = (await audit.eventually(lambda: audit.entries(request_id=second, kind="change")))[0]
    assert entry["actor"] == "staff-sports"
    assert list(entry["actor_roles"]) == ["staff"]
    assert entry["action"] == "booking.v1.set_prices"
    assert (entry["kind"], entry["outcome"]) == ("change", "ok")
    assert (entry["object_type"], entry["object_id"]) == ("resource", str(res))
    assert entry["client_address"] == "10.1.2.3"
    assert entry["changes"]["rules"][0]["amount_cents"] == 2500
    earlier = (await audit.entries(request_id=first, kind="change"))[0]
    # each change was written ahead as an attempt (before it ran)
    attempt = (await audit.entries(request_id=second, kind="attempt"))[0]
    assert (attempt["outcome"], attempt["action"]) == ("pending", "booking.v1.set_prices")
    assert attempt["seq"] < entry["seq"]
    assert attempt["changes"] == entry["changes"]
    assert earlier["seq"] < entry["seq"]
    # before = what the log last recorded of the same object (the first change's result)
    assert entry["before"] == earlier["after"]

    # the admin finds it by person, object and time
    found = await audit_call(
        nc,
        "search",
        a.AuditSearchRequest(actor="staff-sports", object_type="resource", object_id=str(res)),
        a.AuditSearchReply,
        ADMIN,
    )
    assert [e.seq for e in found.entries if e.kind != "attempt"] == [entry["seq"], earlier["seq"]]
    with pytest.raises(Forbidden):
        await audit_call(nc, "search", a.AuditSearchRequest(), a.AuditSearchReply, SPORTS_STAFF)
    checked = await audit_call(nc, "verify", a.VerifyRequest(), a.VerifyReply, ADMIN)
    assert checked.ok
    assert checked.checked >= 2


async def test_refused_staff_changes_and_staff_views_are_recorded_residents_own_are_not(
    audit: Audit, booking: Booking
) -> None:
    res = await booking.add_resource(1)
    day = next_weekday(2)
    hold = c.HoldRequest(
        items=[c.HoldItem(resource_id=res, starts_at=local(day, 9), ends_at=local(day, 10))]
    )
    held, resident_request = await call(booking, "hold", hold, c.HoldReply, RESIDENT)
    rid = held.reservations[0].reservation_id
    culture = Principal(subject="staff-culture", roles=("staff",), departments=("culture",))
    with pytest.raises(Exception):  # noqa: B017,PT011 - not their department
        await call(booking, "cancel", c.CancelRequest(reservation_id=rid), c.CancelReply, culture)
    _, viewed = await call(
        booking, "get", c.ReservationRef(reservation_id=rid), c.ReservationView, SPORTS_STAFF
    )
    refused = (
        await audit.eventually(lambda: audit.entries(actor="staff-culture", kind="refused"))
    )[0]
    assert (refused["kind"], refused["action"]) == ("refused", "booking.v1.cancel")
    assert refused["outcome"] in ("forbidden", "not_found")
    view = (await audit.eventually(lambda: audit.entries(request_id=viewed)))[0]
    assert (view["kind"], view["object_id"]) == ("view", str(rid))
    # the resident concerned is named by a pseudonym, never by their subject
    assert view["person"].startswith("p:")
    assert "resident-aino" not in str(dict(view))
    # the resident's own hold is no staff action: only the fact booking announced is there
    assert {e["kind"] for e in await audit.entries(request_id=resident_request)} <= {"event"}
    held_event = await audit.eventually(
        lambda: audit.entries(action="evt.booking.reservation.held", object_id=str(rid))
    )
    assert held_event[0]["actor"] == "system:booking"
    assert held_event[0]["request_id"] == resident_request  # the work that announced it
    assert held_event[0]["person"] == view["person"]


async def test_a_change_is_recorded_before_it_runs_so_none_goes_unrecorded(
    audit: Audit, booking: Booking
) -> None:
    """The attempt is in the log while the change itself still waits (here for a lock the
    test holds): a process that dies between the change and its outcome leaves the attempt."""
    res = await booking.add_resource(1)
    rules = [
        c.PriceRuleIn(customer_group="resident", unit="hour", amount_cents=900, vat_rate_bp=1000)
    ]
    async with booking.pool.acquire() as blocker, blocker.transaction():
        await blocker.execute("SELECT 1 FROM resources WHERE id = $1 FOR UPDATE", res)
        change = asyncio.create_task(
            call(
                booking,
                "set_prices",
                c.SetPricesRequest(resource_id=res, rules=rules),
                c.Done,
                SPORTS_STAFF,
            )
        )
        attempt = (
            await audit.eventually(
                lambda: audit.entries(action="booking.v1.set_prices", object_id=str(res))
            )
        )[0]
        assert (attempt["kind"], attempt["outcome"]) == ("attempt", "pending")
        assert not change.done()  # the change has not run yet
    _, request_id = await change
    outcome = await audit.eventually(lambda: audit.entries(request_id=request_id, kind="change"))
    assert attempt["request_id"] == request_id
    assert outcome[0]["seq"] > attempt["seq"]


async def test_nobody_can_change_or_remove_an_entry_and_the_check_finds_tampering(
    audit: Audit, booking: Booking, nc: NATS, common_settings: CommonSettings
) -> None:
    res = await booking.add_resource(1)
    for amount in (100, 200, 300):
        rules = [
            c.PriceRuleIn(
                customer_group="resident", unit="hour", amount_cents=amount, vat_rate_bp=1000
            )
        ]
        await call(
            booking,
            "set_prices",
            c.SetPricesRequest(resource_id=res, rules=rules),
            c.Done,
            SPORTS_STAFF,
        )
    rows = await audit.eventually(
        lambda: _at_least(audit.entries(object_id=str(res), action="booking.v1.set_prices"), 3)
    )
    target = rows[1]["seq"]
    for statement in (
        "UPDATE entries SET actor = 'someone-else' WHERE seq = $1",
        "DELETE FROM entries WHERE seq = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await audit.pool.execute(statement, target)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await audit.pool.execute("TRUNCATE entries")
    conn = await asyncpg.connect(common_settings.database_url)
    try:  # even under replication mode, which silences ordinary triggers
        await conn.execute("SET session_replication_role = replica")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit.entries WHERE seq = $1", target)
    finally:
        await conn.close()
    assert (await audit_call(nc, "verify", a.VerifyRequest(), a.VerifyReply, ADMIN)).ok

    # a superuser who disables the trigger can change a row, but not unnoticed
    async with audit.pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE entries DISABLE TRIGGER entries_no_update")
        await conn.execute(
            "UPDATE entries SET changes = '{\"rules\": []}'::jsonb WHERE seq = $1", target
        )
        await conn.execute("ALTER TABLE entries ENABLE ALWAYS TRIGGER entries_no_update")
    checked = await audit_call(nc, "verify", a.VerifyRequest(), a.VerifyReply, ADMIN)
    assert (checked.ok, checked.first_bad_seq) == (False, target)
    assert checked.problem == "its content does not match its hash"


async def _at_least(found: Any, n: int) -> list[asyncpg.Record] | None:
    rows = await found
    return rows if len(rows) >= n else None


async def test_a_persons_key_is_made_once_and_then_the_same_one_is_given(audit: Audit) -> None:
    ref = f"ref-{uuid.uuid4().hex}"
    async with audit.pool.acquire() as conn:
        assert await store.person_key(conn, ref, create=False) is None
        made = await store.person_key(conn, ref, create=True)
        assert made is not None
        assert len(made) == 32
        assert await store.person_key(conn, ref, create=True) == made
        assert await store.person_key(conn, ref, create=False) == made
        assert await conn.fetchval("SELECT count(*) FROM person_keys WHERE ref = $1", ref) == 1
        assert await store.forget_person_key(conn, ref)
