"""The utilisation figures through the gateway with the real insights service, fed by events
on the real stream: JSON and CSV for the department's clerk; others refused; bad periods 4xx
naming the field."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from typing import Any

import msgspec
import pytest
from nats.js import JetStreamContext

from services.gateway.web.i18n import t
from services.insights.app import MIGRATIONS, build
from shared.contracts import booking as b
from shared.contracts.common import Event
from shared.settings import CommonSettings
from tests.conftest import clean_schema
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings, make_client

pytestmark = pytest.mark.timeout(60)
UNIT, HALL = uuid.uuid4(), uuid.uuid4()
DAY = date(2026, 6, 1)  # a Monday
UNIT_NAME = b.LocalizedText(fi="Impivaara", sv="Impivaara idrottshus", en="Impivaara sports centre")
HALL_NAME = b.LocalizedText(fi="Sali", sv="Salen")  # no English name: Finnish stands in
PERIOD = {"period_from": "2026-06-01", "period_to": "2026-06-07", "resource_id": str(HALL)}


async def publish(js: JetStreamContext, event: Event) -> None:
    await js.publish(
        event.subject, msgspec.json.encode(event), headers={"Nats-Msg-Id": str(event.event_id)}
    )


@pytest.fixture
async def figures(
    hosted: Any, common_settings: CommonSettings, js: JetStreamContext
) -> AsyncIterator[GatewayClient]:
    async with hosted("insights", build, MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "insights")
        await publish(js, b.UnitSaved(
            unit_id=UNIT, name=UNIT_NAME, merchant_id="sports", tz="Europe/Helsinki"
        ))  # fmt: skip
        await publish(js, b.ResourceSaved(
            resource_id=HALL, unit_id=UNIT, name=HALL_NAME, merchant_id="sports"
        ))  # fmt: skip
        await publish(js, b.HoursSet(
            unit_id=UNIT, valid_from=date(2026, 1, 1),
            hours=[b.HoursRow(weekday=d, opens=time(8), closes=time(18)) for d in range(7)],
        ))  # fmt: skip
        starts = datetime(2026, 6, 1, 7, tzinfo=UTC)  # 10:00 in Turku
        await publish(js, b.ReservationConfirmed(
            reservation_id=uuid.uuid4(), resource_id=HALL, unit_id=UNIT, customer="x",
            state="confirmed", starts_at=starts, ends_at=starts.replace(hour=9),
            merchant_id="sports", customer_group="association", sequence=1,
        ))  # fmt: skip
        async with asyncio.timeout(10):
            while not await pool.fetchval(
                """SELECT EXISTS (SELECT 1 FROM units WHERE unit_id = $1)
                      AND EXISTS (SELECT 1 FROM resources WHERE resource_id = $2)
                      AND EXISTS (SELECT 1 FROM weekly_hours WHERE unit_id = $1)
                      AND EXISTS (SELECT 1 FROM reservations WHERE resource_id = $2)""",
                UNIT,
                HALL,
            ):
                await asyncio.sleep(0.05)
        try:
            async with make_client(common_settings, gateway_settings()) as client:
                yield client
        finally:
            await clean_schema(pool, "insights")


async def test_the_departments_clerk_gets_the_figures_as_json_and_csv(figures) -> None:
    clerk = await bearer(figures, "clerk-sports")
    got = await figures.get("/api/v1/insights/figures", params=PERIOD, headers=clerk)
    assert got.status_code == 200, got.text
    (hall,) = got.json()["resources"]
    assert (hall["name"], hall["unit_name"]) == ("Sali", "Impivaara")
    assert (hall["open_minutes"], hall["booked_minutes"]) == (7 * 10 * 60, 120)
    assert hall["utilisation_percent"] == pytest.approx(2.9)
    assert got.json()["customer_groups"][0]["customer_group"] == "association"
    csv = await figures.get(
        "/api/v1/insights/figures.csv", params={**PERIOD, "table": "units"}, headers=clerk
    )
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    header, row = csv.text.splitlines()
    assert header.startswith("unit_id,name,merchant_id,resources,open_minutes,booked_minutes")
    assert row.startswith(f"{UNIT},Impivaara,sports,1,4200,120,2.9,1,0,0")


async def test_others_are_refused_and_bad_periods_name_the_field(figures) -> None:
    anonymous = await figures.get("/api/v1/insights/figures", params=PERIOD)
    assert anonymous.status_code == 401
    resident = await bearer(figures, "resident-turku")
    refused = await figures.get("/api/v1/insights/figures", params=PERIOD, headers=resident)
    assert refused.status_code == 403
    library = await bearer(figures, "clerk-library")
    hidden = await figures.get("/api/v1/insights/figures", params=PERIOD, headers=library)
    assert hidden.status_code == 404
    assert hidden.json()["field"] == "resource_id"
    other = await figures.get(
        "/api/v1/insights/figures.csv",
        params={**PERIOD, "merchant_id": "sports"},
        headers=library,
    )
    assert other.status_code == 403
    clerk = await bearer(figures, "clerk-sports")
    backwards = {**PERIOD, "period_to": "2026-05-01"}
    wrong = await figures.get("/api/v1/insights/figures", params=backwards, headers=clerk)
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "period_to"
    garbled = await figures.get(
        "/api/v1/insights/figures", params={**PERIOD, "period_from": "x"}, headers=clerk
    )
    assert garbled.status_code == 400
    assert garbled.json()["field"] == "period_from"
    table = await figures.get(
        "/api/v1/insights/figures.csv", params={**PERIOD, "table": "secrets"}, headers=clerk
    )
    assert table.status_code == 400
    assert table.json()["field"] == "table"


async def sign_in(client: GatewayClient, user: str) -> None:
    signed_in = await client.post("/dev-issuer/sign-in", data={"user": user, "next": "/"})
    assert signed_in.status_code == 303, signed_in.text


async def test_the_console_page_draws_charts_with_their_numbers_and_tables_beside(
    figures,
) -> None:
    await sign_in(figures, "clerk-sports")
    week = {"period_from": "2026-06-01", "period_to": "2026-06-07", "merchant_id": "sports"}
    page = await figures.get("/staff/insights", params={**week, "lang": "en"})
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count('role="img"') == 4  # resources, weekdays, hours, groups
    assert "No figures for the chosen period." in html  # no revenue: no empty chart
    assert 'aria-describedby="table-resources"' in html
    assert 'id="table-resources"' in html
    assert f'data-resource="{HALL}"' in html
    assert "Outline: open hours" in html  # the two series are told apart without colour
    assert "Hatched: booked hours" in html
    # the bar's number is written on the chart and in the table, as English writes it (this
    # page wrote "2,9 %" and "2,0 / 10,0 h" in English too; English writes "2.9%")
    assert "2.9%" in html
    assert "2.0 / 10.0 h" in html  # Monday: booked / open hours at the bar's end
    assert "Associations" in html
    csv = await figures.get("/staff/insights.csv", params={**week, "table": "hours"})
    assert csv.status_code == 200, csv.text
    assert csv.text.splitlines()[0] == "hour,open_minutes,booked_minutes,utilisation_percent"
    one_unit = await figures.get("/staff/insights", params={**week, "unit_id": str(UNIT)})
    assert one_unit.status_code == 200, one_unit.text
    assert f'<option value="{UNIT}" selected>Impivaara</option>' in one_unit.text
    assert f"unit_id={UNIT}" in one_unit.text  # the CSV links keep the choice
    bad = await figures.get("/staff/insights", params={"period_from": "yesterday"})
    assert bad.status_code == 422
    assert "period_from" in bad.text


@pytest.mark.parametrize(
    ("lang", "unit", "hall"),
    [
        ("fi", "Impivaara", "Sali"),
        ("sv", "Impivaara idrottshus", "Salen"),
        ("en", "Impivaara sports centre", "Sali"),
    ],
)
async def test_the_console_page_names_units_and_resources_in_the_pages_language(
    figures: GatewayClient, lang: str, unit: str, hall: str
) -> None:
    await sign_in(figures, "clerk-sports")
    week = {"period_from": "2026-06-01", "period_to": "2026-06-07", "lang": lang}
    page = await figures.get("/staff/insights", params=week)
    assert page.status_code == 200, page.text
    html = page.text
    assert f'<html lang="{lang}">' in html
    assert f'<option value="{UNIT}">{unit}</option>' in html  # the unit choice
    assert f'<tr data-resource="{HALL}"><th scope="row">{hall}</th>' in html  # resource table
    assert f'<td data-label="{t(lang, "units_figures")}">{unit}</td>' in html  # its unit beside it
    assert f'<tr><th scope="row">{unit}</th>' in html  # the units table
    assert f">{hall}</text>" in html  # the chart's bar label
    if lang != "fi":
        assert f">{UNIT_NAME.fi}<" not in html  # no Finnish unit name left on the page
    csv = await figures.get("/staff/insights.csv", params={**week, "table": "units"})
    assert csv.text.splitlines()[0].startswith("unit_id,name,merchant_id,resources,open_")


async def test_a_resident_cannot_open_the_figures_page(figures) -> None:
    await sign_in(figures, "resident-turku")
    page = await figures.get("/staff/insights")
    assert page.status_code == 403
