"""The utilisation figures, built by the insights service from the events booking, cart and
payment publish on the real JetStream stream (insights never reads their tables)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import msgspec
import pytest
from nats.js import JetStreamContext

from shared.contracts import booking as c
from shared.contracts import insights as i
from shared.contracts.cart import AccountingDimensions, OrderLineSnapshot, OrderPaid, RefundLine
from shared.contracts.common import Event, Principal
from shared.contracts.payment import PaymentRefunded
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.integration.booking.conftest import (
    CULTURE_STAFF,
    RESIDENT,
    SPORTS_STAFF,
    Booking,
    local,
    next_weekday,
)
from tests.integration.insights.conftest import ADMIN, Insights

pytestmark = pytest.mark.timeout(60)

GROUPS = ("resident", "other", "association", "business")


async def new_hall(booking: Booking, opens: int = 8, closes: int = 20) -> c.ResourceSummary:
    """A new unit and resource of sports, open every day `opens`..`closes`, free to book."""
    unit = await booking.call(
        "upsert_unit",
        c.UnitUpsert(name=c.LocalizedText(fi="Kupittaan palloiluhalli"), merchant_id="sports"),
        c.UnitView,
        SPORTS_STAFF,
    )
    res = await booking.call(
        "upsert_resource",
        c.ResourceUpsert(unit_id=unit.unit_id, name=c.LocalizedText(fi="Kenttä 1"), kind="space"),
        c.ResourceSummary,
        SPORTS_STAFF,
    )
    hours = [c.WeeklyHoursIn(weekday=d, opens=time(opens), closes=time(closes)) for d in range(7)]
    await booking.call(
        "set_hours",
        c.SetHoursRequest(unit_id=unit.unit_id, hours=hours, valid_from=date.today()),
        c.Done,
        SPORTS_STAFF,
    )
    rules = [c.PriceRuleIn(customer_group=g, unit="free", vat_rate_bp=0) for g in GROUPS]
    await booking.call(
        "set_prices", c.SetPricesRequest(resource_id=res.resource_id, rules=rules), c.Done,
        SPORTS_STAFF,
    )  # fmt: skip
    return res


async def booked(
    booking: Booking, resource_id: uuid.UUID, start: datetime, hours: int, who: Principal
) -> c.ReservationView:
    item = c.HoldItem(
        resource_id=resource_id, starts_at=start, ends_at=start + timedelta(hours=hours)
    )
    held = await booking.call("hold", c.HoldRequest(items=[item]), c.HoldReply, who)
    ref = c.ReservationRef(reservation_id=held.reservations[0].reservation_id)
    return await booking.call("confirm", ref, c.ReservationView, who)


async def test_utilisation_of_a_week_follows_bookings_cancellations_and_hours(
    booking: Booking, insights: Insights
) -> None:
    hall = await new_hall(booking)  # 12 h a day
    monday = next_weekday(0, 3)
    await booked(booking, hall.resource_id, local(monday, 10), 2, RESIDENT)
    later = await booked(booking, hall.resource_id, local(monday, 14), 1, RESIDENT)
    await booking.call(
        "cancel", c.CancelRequest(reservation_id=later.reservation_id), c.CancelReply, RESIDENT
    )
    week = {"period_from": monday, "period_to": monday + timedelta(days=6)}

    async def caught_up() -> bool:
        f = await insights.figures(SPORTS_STAFF, resource_id=hall.resource_id, **week)
        return bool(f.resources) and f.resources[0].cancellations == 1 and f.resources[0].name != ""

    await insights.eventually(caught_up)
    f = await insights.figures(SPORTS_STAFF, resource_id=hall.resource_id, **week)
    (row,) = f.resources
    assert (row.name, row.unit_name, row.merchant_id) == (
        "Kenttä 1",
        "Kupittaan palloiluhalli",
        "sports",
    )
    assert (row.open_minutes, row.booked_minutes, row.bookings) == (7 * 12 * 60, 120, 1)
    assert row.utilisation_percent == pytest.approx(2.4)
    assert (row.cancellations, row.no_shows) == (1, 0)
    assert f.total.booked_minutes == 120
    assert len(f.units) == len(f.departments) == 1
    assert [(g.customer_group, g.bookings, g.booked_minutes) for g in f.customer_groups] == [
        ("resident", 1, 120)
    ]
    assert f.weekdays[0].booked_minutes == 120
    assert f.weekdays[0].open_minutes == 12 * 60
    assert f.weekdays[0].utilisation_percent == pytest.approx(16.7)
    assert [h.booked_minutes for h in f.hours[9:13]] == [0, 60, 60, 0]
    assert f.hours[10].open_minutes == 7 * 60
    assert f.hours[7].open_minutes == 0
    # The week before: nothing booked, and the hours were not yet in force.
    before = await insights.figures(
        ADMIN, resource_id=hall.resource_id, period_from=monday - timedelta(days=400 - 1),
        period_to=monday - timedelta(days=300),
    )  # fmt: skip
    assert before.total.booked_minutes == 0
    assert before.total.utilisation_percent is None


async def test_staff_mark_a_no_show_only_on_a_started_confirmed_reservation_of_theirs(
    booking: Booking, insights: Insights
) -> None:
    hall = await new_hall(booking)
    monday = next_weekday(0, 3)
    r = await booked(booking, hall.resource_id, local(monday, 9), 1, RESIDENT)
    ref = c.NoShowRequest(reservation_id=r.reservation_id)
    with pytest.raises(Conflict) as not_yet:
        await booking.call("mark_no_show", ref, c.ReservationView, SPORTS_STAFF)
    assert not_yet.value.field == "reservation_id"
    # Time passes: the reservation is a fortnight ago (booking's own table, as the clock would).
    await booking.pool.execute(
        """UPDATE reservations SET during = tstzrange(lower(during) - interval '14 days',
               upper(during) - interval '14 days') WHERE id = $1""",
        r.reservation_id,
    )
    with pytest.raises(Forbidden):
        await booking.call("mark_no_show", ref, c.ReservationView, CULTURE_STAFF)
    with pytest.raises(Forbidden):
        await booking.call("mark_no_show", ref, c.ReservationView, RESIDENT)
    marked = await booking.call("mark_no_show", ref, c.ReservationView, SPORTS_STAFF)
    assert marked.no_show
    assert marked.state == "confirmed"
    (announced,) = await booking.events("evt.booking.reservation.no_show")
    assert announced["no_show"] is True
    assert "customer_group" in announced
    day = monday - timedelta(days=14)

    async def counted() -> bool:
        f = await insights.figures(
            SPORTS_STAFF, resource_id=hall.resource_id, period_from=day, period_to=day
        )
        return f.total.no_shows == 1

    await insights.eventually(counted)
    undone = await booking.call(
        "mark_no_show",
        c.NoShowRequest(reservation_id=r.reservation_id, no_show=False),
        c.ReservationView,
        SPORTS_STAFF,
    )
    assert not undone.no_show

    async def uncounted() -> bool:
        f = await insights.figures(
            SPORTS_STAFF, resource_id=hall.resource_id, period_from=day, period_to=day
        )
        return f.total.no_shows == 0 and f.total.bookings == 1

    await insights.eventually(uncounted)
    cancelled = await booked(booking, hall.resource_id, local(monday, 12), 1, RESIDENT)
    await booking.call(
        "cancel", c.CancelRequest(reservation_id=cancelled.reservation_id), c.CancelReply, RESIDENT
    )
    with pytest.raises(Conflict):
        await booking.call(
            "mark_no_show",
            c.NoShowRequest(reservation_id=cancelled.reservation_id),
            c.ReservationView,
            SPORTS_STAFF,
        )


async def test_figures_are_for_staff_of_the_department_and_bad_periods_name_the_field(
    booking: Booking, insights: Insights
) -> None:
    hall = await new_hall(booking)

    async def known() -> bool:
        return (
            await insights.pool.fetchval(
                "SELECT count(*) FROM resources WHERE resource_id = $1", hall.resource_id
            )
            == 1
        )

    await insights.eventually(known)
    today = date.today()
    period = {"period_from": today, "period_to": today}
    with pytest.raises(Forbidden) as other:
        await insights.figures(CULTURE_STAFF, merchant_id="sports", **period)
    assert other.value.field == "merchant_id"
    with pytest.raises(Forbidden):
        await insights.figures(RESIDENT, **period)
    with pytest.raises(NotFound) as hidden:
        await insights.figures(CULTURE_STAFF, resource_id=hall.resource_id, **period)
    assert hidden.value.field == "resource_id"
    with pytest.raises(NotFound):
        await insights.figures(CULTURE_STAFF, unit_id=hall.unit_id, **period)
    mine = await insights.figures(CULTURE_STAFF, **period)
    assert {r.merchant_id for r in mine.resources} <= {"culture"}
    with pytest.raises(ValidationFailed) as backwards:
        await insights.figures(ADMIN, period_from=today, period_to=today - timedelta(days=1))
    assert backwards.value.field == "period_to"
    with pytest.raises(ValidationFailed) as long:
        await insights.figures(ADMIN, period_from=today, period_to=today + timedelta(days=400))
    assert long.value.field == "period_to"
    with pytest.raises(ValidationFailed) as far:
        await insights.figures(ADMIN, period_from=date(9999, 12, 30), period_to=date(9999, 12, 31))
    assert far.value.field == "period_from"
    bad = {"period_from": "2026-13-01", "period_to": "2026-01-01"}
    with pytest.raises(ValidationFailed) as undecodable:
        await insights.call("figures", bad, i.Figures, ADMIN)
    assert undecodable.value.field == "period_from"
    assert await insights.pool.fetchval("SELECT count(*) FROM resources") >= 1  # unchanged


async def publish(js: JetStreamContext, event: Event) -> None:
    await js.publish(
        event.subject, msgspec.json.encode(event), headers={"Nats-Msg-Id": str(event.event_id)}
    )


DIMS = AccountingDimensions(
    company_code="1000", gl_account="320000", profit_centre="PC-L", vat_code="S3"
)


async def test_revenue_by_month_is_paid_lines_less_refunds_also_as_csv(
    booking: Booking, insights: Insights, js: JetStreamContext
) -> None:
    merchant = f"test-{uuid.uuid4().hex[:8]}"
    lines = [
        OrderLineSnapshot(
            line_id=uuid.uuid4(),
            kind="gis_product",
            reference="map-1",
            description="=cmd|' /C calc'!A0",
            merchant_id=merchant,
            cost_centre="GIS-1",
            gross_cents=cents,
            net_cents=cents,
            vat_cents=0,
            vat_rate_bp=0,
            accounting=DIMS,
        )
        for cents in (1000, 2500)
    ]
    january = datetime(2026, 1, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 February in Turku
    await publish(js, OrderPaid(
        order_id=uuid.uuid4(), order_number="T-1", customer="someone", payment_id=uuid.uuid4(),
        lines=lines, occurred_at=january,
    ))  # fmt: skip
    await publish(js, PaymentRefunded(
        payment_id=uuid.uuid4(), order_id=uuid.uuid4(), amount_cents=1000, provider="local",
        refund_id=uuid.uuid4(), lines=[RefundLine(line_id=lines[0].line_id, amount_cents=1000)],
        reason="customer", occurred_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
    ))  # fmt: skip
    year = {"period_from": date(2026, 1, 1), "period_to": date(2026, 12, 31)}

    async def both() -> bool:
        f = await insights.figures(ADMIN, merchant_id=merchant, **year)
        return len(f.revenue) == 2

    await insights.eventually(both)
    f = await insights.figures(ADMIN, merchant_id=merchant, **year)
    assert [(m.month, m.paid_cents, m.refunded_cents, m.net_cents) for m in f.revenue] == [
        ("2026-02", 3500, 0, 3500),
        ("2026-03", 0, 1000, -1000),
    ]
    csv = await insights.call(
        "figures_csv",
        i.FiguresCsvRequest(merchant_id=merchant, table="revenue", **year),
        i.CsvText,
        ADMIN,
    )
    assert csv.filename == "insights-revenue-2026-01-01-2026-12-31.csv"
    assert csv.text.splitlines() == [
        "month,merchant_id,paid_cents,refunded_cents,net_cents",
        f"2026-02,{merchant},3500,0,3500",
        f"2026-03,{merchant},0,1000,-1000",
    ]


async def test_a_late_older_announcement_changes_nothing(
    booking: Booking, insights: Insights, js: JetStreamContext
) -> None:
    hall = await new_hall(booking)
    monday = next_weekday(0, 3)
    r = await booked(booking, hall.resource_id, local(monday, 10), 1, RESIDENT)
    day = {"period_from": monday, "period_to": monday}

    async def confirmed() -> bool:
        f = await insights.figures(SPORTS_STAFF, resource_id=hall.resource_id, **day)
        return f.total.bookings == 1

    await insights.eventually(confirmed)
    stale = c.ReservationHeld(
        reservation_id=r.reservation_id, resource_id=hall.resource_id, unit_id=hall.unit_id,
        customer="x", state="held", starts_at=r.starts_at, ends_at=r.ends_at,
        merchant_id="sports", sequence=0,
    )  # fmt: skip
    await publish(js, stale)

    async def applied() -> bool:
        return bool(
            await insights.pool.fetchval(
                "SELECT count(*) FROM inbox WHERE event_id = $1", stale.event_id
            )
        )

    await insights.eventually(applied)
    f = await insights.figures(SPORTS_STAFF, resource_id=hall.resource_id, **day)
    assert f.total.bookings == 1
    assert f.total.booked_minutes == 60
    assert (
        await insights.pool.fetchval(
            "SELECT count(*) FROM reservations WHERE state = 'held' AND reservation_id = $1",
            r.reservation_id,
        )
        == 0
    )


async def test_the_demo_catalogue_announced_is_known_to_insights_with_its_hours(
    booking: Booking, insights: Insights
) -> None:
    from services.booking import demo
    from services.booking.announce import announce_catalogue

    async with booking.pool.acquire() as conn, conn.transaction():
        sent = await announce_catalogue(conn)
    units = await booking.events("evt.booking.unit.saved")
    resources = await booking.events("evt.booking.resource.saved")
    hours = await booking.events("evt.booking.hours.set")
    assert len(units) == len(demo.UNITS)
    assert len(resources) == len(demo.RESOURCES)
    assert sent == len(units) + len(resources) + len(hours)
    monday = next_weekday(0, 3)
    week = {"period_from": monday, "period_to": monday + timedelta(days=6)}

    async def known() -> bool:
        try:
            f = await insights.figures(SPORTS_STAFF, resource_id=demo.RESOURCE_SPORTS_HALL, **week)
        except NotFound:  # not announced yet
            return False
        return bool(f.resources) and f.resources[0].open_minutes > 0

    await insights.eventually(known)
    hall = (
        await insights.figures(SPORTS_STAFF, resource_id=demo.RESOURCE_SPORTS_HALL, **week)
    ).resources[0]
    assert hall.name
    assert hall.unit_id == demo.UNIT_IMPIVAARA_SPORTS_HALL


async def test_a_closure_takes_its_days_out_of_the_opening_hours_and_back_when_removed(
    booking: Booking, insights: Insights
) -> None:
    hall = await new_hall(booking)  # 12 h a day
    monday = next_weekday(0, 3)
    week = {"period_from": monday, "period_to": monday + timedelta(days=6)}
    closure = await booking.call(
        "add_closure",
        c.ClosureRequest(
            unit_id=hall.unit_id, first=monday, last=monday + timedelta(days=1), reason="remont"
        ),
        c.ClosureReply,
        SPORTS_STAFF,
    )

    async def open_minutes() -> int | None:
        try:
            f = await insights.figures(SPORTS_STAFF, resource_id=hall.resource_id, **week)
        except NotFound:
            return None
        return f.resources[0].open_minutes if f.resources else None

    async def closed() -> bool:
        return await open_minutes() == 5 * 12 * 60

    await insights.eventually(closed)
    await booking.call(
        "remove_closure",
        c.RemoveClosureRequest(closure_id=closure.closure_id),
        c.Done,
        SPORTS_STAFF,
    )

    async def reopened() -> bool:
        return await open_minutes() == 7 * 12 * 60

    await insights.eventually(reopened)


async def test_shared_places_count_their_share_and_unannounced_resources_still_show(
    insights: Insights, js: JetStreamContext
) -> None:
    merchant = f"pools-{uuid.uuid4().hex[:6]}"
    unit, lane, stray = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    name = c.LocalizedText(fi="Rata")
    await publish(js, c.ResourceSaved(
        resource_id=lane, unit_id=unit, name=name, merchant_id=merchant, capacity=4
    ))  # fmt: skip

    async def announced() -> bool:
        return bool(
            await insights.pool.fetchval(
                "SELECT count(*) FROM resources WHERE resource_id = $1", lane
            )
        )

    await insights.eventually(announced)
    starts = datetime(2026, 6, 1, 7, tzinfo=UTC)
    for resource_id, places in ((lane, 2), (stray, 1)):
        await publish(js, c.ReservationConfirmed(
            reservation_id=uuid.uuid4(), resource_id=resource_id, unit_id=unit, customer="x",
            state="confirmed", starts_at=starts, ends_at=starts + timedelta(hours=1),
            places=places, merchant_id=merchant, customer_group="resident", sequence=1,
        ))  # fmt: skip
    day = {"period_from": date(2026, 6, 1), "period_to": date(2026, 6, 1)}

    async def both() -> bool:
        f = await insights.figures(ADMIN, merchant_id=merchant, **day)
        return f.total.bookings == 2

    await insights.eventually(both)
    f = await insights.figures(ADMIN, merchant_id=merchant, **day)
    by_id = {r.resource_id: r for r in f.resources}
    assert by_id[lane].booked_minutes == 30  # 2 of 4 places for an hour
    assert by_id[stray].booked_minutes == 60
    assert by_id[stray].name == ""  # known only from its reservation
    assert by_id[stray].unit_id == unit


async def test_reservations_announced_again_fill_in_what_insights_missed(
    booking: Booking, insights: Insights
) -> None:
    from services.booking.announce import announce_reservations

    hall = await new_hall(booking)
    monday = next_weekday(0, 3)
    await booked(booking, hall.resource_id, local(monday, 10), 2, RESIDENT)
    week = {"period_from": monday, "period_to": monday + timedelta(days=6)}

    async def booked_minutes() -> int:
        f = await insights.figures(SPORTS_STAFF, resource_id=hall.resource_id, **week)
        return f.total.booked_minutes

    async def two_hours() -> bool:
        return await booked_minutes() == 120

    await insights.eventually(two_hours)
    # Insights loses its copy (as if it had started listening after the stream's 30 days).
    await insights.pool.execute("TRUNCATE reservations, booked_cells")
    assert await booked_minutes() == 0
    since = datetime.combine(monday - timedelta(days=1), time(0), UTC)
    async with booking.pool.acquire() as conn:
        assert await announce_reservations(conn, since) >= 1
    await insights.eventually(two_hours)
    async with booking.pool.acquire() as conn:  # again: nothing changes
        await announce_reservations(conn, since)
    (row,) = await insights.pool.fetch(
        "SELECT state, customer_group FROM reservations WHERE resource_id = $1", hall.resource_id
    )
    assert (row["state"], row["customer_group"]) == ("confirmed", "resident")
