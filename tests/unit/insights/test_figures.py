"""Putting the figures together: roll-ups to units and departments, percentages, and CSV."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.insights.domain.figures import ResourceInfo, Spread, Tally, assemble, to_csv
from services.insights.domain.opening import OpenTime
from shared.contracts import insights as c

UNIT_A, UNIT_B = uuid.uuid4(), uuid.uuid4()
HALL, POOL, LIB = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def figures() -> c.Figures:
    resources = [
        ResourceInfo(HALL, "=Sali", UNIT_A, "Impivaara", "sports"),
        ResourceInfo(POOL, "Allas", UNIT_A, "Impivaara", "sports"),
        ResourceInfo(LIB, "Kokoushuone", UNIT_B, "Pääkirjasto", "library"),
    ]
    opening = {
        HALL: OpenTime(minutes=600, by_weekday=[600, 0, 0, 0, 0, 0, 0]),
        POOL: OpenTime(minutes=400),
    }
    tallies = {HALL: Tally(150.4, 2, 1, 1), LIB: Tally(60.0, 1, 0, 0)}
    spread = Spread(groups={"resident": (2, 150.4), "association": (1, 60.0)})
    spread.by_weekday[0] = 150.4
    revenue = [
        c.MonthRevenue(
            month="2026-01", merchant_id="sports", paid_cents=100, refunded_cents=0, net_cents=100
        )
    ]
    when = datetime(2026, 2, 1, tzinfo=UTC)
    return assemble(
        (date(2026, 1, 1), date(2026, 1, 31)), when, resources, opening, tallies, spread, revenue
    )


def test_resources_roll_up_to_units_departments_and_the_total() -> None:
    f = figures()
    assert [r.name for r in f.resources] == ["Kokoushuone", "=Sali", "Allas"]
    hall = f.resources[1]
    assert (hall.open_minutes, hall.booked_minutes, hall.utilisation_percent) == (600, 150, 25.0)
    assert (hall.bookings, hall.cancellations, hall.no_shows) == (2, 1, 1)
    impivaara = next(u for u in f.units if u.unit_id == UNIT_A)
    assert (impivaara.open_minutes, impivaara.booked_minutes, impivaara.resources) == (1000, 150, 2)
    assert impivaara.utilisation_percent == 15.0
    sports = next(d for d in f.departments if d.merchant_id == "sports")
    assert (sports.units, sports.resources, sports.utilisation_percent) == (1, 2, 15.0)
    library = next(d for d in f.departments if d.merchant_id == "library")
    assert library.utilisation_percent is None  # booked, but never open by its hours
    assert (f.total.open_minutes, f.total.booked_minutes, f.total.no_shows) == (1000, 210, 1)
    shares = {g.customer_group: g.share_percent for g in f.customer_groups}
    assert shares == {"association": 28.5, "resident": 71.5}
    assert f.weekdays[0].utilisation_percent == 25.1
    assert f.weekdays[1].utilisation_percent is None


def test_csv_has_a_header_and_quotes_what_a_spreadsheet_would_run() -> None:
    lines = to_csv(figures(), "resources").splitlines()
    assert lines[0] == (
        "resource_id,name,unit_id,unit_name,merchant_id,open_minutes,booked_minutes,"
        "utilisation_percent,bookings,cancellations,no_shows"
    )
    assert lines[2].startswith(f"{HALL},'=Sali,{UNIT_A},Impivaara,sports,600,150,25.0,2,1,1")
    assert lines[1].endswith(",0,60,,1,0,0")  # never open: no percentage
    weekdays = to_csv(figures(), "weekdays").splitlines()
    assert weekdays[0] == "weekday,open_minutes,booked_minutes,utilisation_percent"
    assert len(weekdays) == 8
    assert to_csv(figures(), "revenue").splitlines()[1] == "2026-01,sports,100,0,100"
