"""Staff mark a no-show through the gateway: the API route and the day view's button."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from shared.settings import CommonSettings
from tests.integration.booking.conftest import RESIDENT, Booking, local, next_weekday
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings, make_client
from tests.integration.insights.test_figures import booked, new_hall

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def client(common_settings: CommonSettings) -> AsyncIterator[GatewayClient]:
    async with make_client(common_settings, gateway_settings()) as test_client:
        yield test_client


async def started_reservation(booking: Booking) -> tuple[str, str, str]:
    """(reservation id, unit id, local day) of a confirmed reservation that began days ago."""
    hall = await new_hall(booking)
    monday = next_weekday(0, 3)
    r = await booked(booking, hall.resource_id, local(monday, 9), 1, RESIDENT)
    await booking.pool.execute(
        """UPDATE reservations SET during = tstzrange(lower(during) - interval '14 days',
               upper(during) - interval '14 days') WHERE id = $1""",
        r.reservation_id,
    )
    day = monday - timedelta(days=14)
    return str(r.reservation_id), str(hall.unit_id), day.isoformat()


async def test_the_departments_clerk_marks_a_no_show_over_the_api(
    booking: Booking, client: GatewayClient
) -> None:
    reservation_id, _, _ = await started_reservation(booking)
    path = f"/api/v1/reservations/{reservation_id}/no-show"
    other = await client.post(path, json={}, headers=await bearer(client, "clerk-library"))
    assert other.status_code == 403, other.text
    resident = await client.post(path, json={}, headers=await bearer(client, "resident-turku"))
    assert resident.status_code == 403, resident.text
    clerk = await bearer(client, "clerk-sports")
    marked = await client.post(path, json={}, headers=clerk)
    assert marked.status_code == 200, marked.text
    assert marked.json()["no_show"] is True
    assert marked.json()["state"] == "confirmed"
    undone = await client.post(path, json={"no_show": False}, headers=clerk)
    assert undone.json()["no_show"] is False
    bad = await client.post(path, json={"no_show": "yes"}, headers=clerk)
    assert bad.status_code == 400
    assert bad.json()["field"] == "no_show"


async def test_the_day_view_has_a_no_show_button_for_started_reservations(
    booking: Booking, client: GatewayClient
) -> None:
    reservation_id, unit_id, day = await started_reservation(booking)
    signed_in = await client.post("/dev-issuer/sign-in", data={"user": "clerk-sports", "next": "/"})
    assert signed_in.status_code == 303
    page = await client.get("/staff/day", params={"day": day, "unit": unit_id, "lang": "en"})
    assert page.status_code == 200, page.text
    assert f'action="/staff/reservations/{reservation_id}/no-show"' in page.text
    posted = await client.post(
        f"/staff/reservations/{reservation_id}/no-show",
        data={"no_show": "true", "day": day, "unit": unit_id, "key": "k1"},
    )
    assert posted.status_code == 303, posted.text
    after = await client.get("/staff/day", params={"day": day, "unit": unit_id, "lang": "en"})
    assert f'data-no-show="{reservation_id}"' in after.text
    assert "Undo no-show" in after.text
