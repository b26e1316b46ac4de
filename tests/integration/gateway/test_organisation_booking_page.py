"""Booking for an organisation on the booking summary page (issue 19), with the real booking,
cart and payment services: a contact person chooses the organisation in "Book for" and the
hold in their cart is priced by its customer group; someone else's choice of it is answered
on the summary naming the field, nothing held; a resident of no organisation sees no choice.
A weekly series chosen for the organisation is priced by its group too."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.booking import demo
from services.gateway.web.forms import FORM_COOKIE
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.test_season_routes import ORGANISATION, suite

__all__ = ["suite"]  # the fixture, shared with test_season_routes

pytestmark = pytest.mark.timeout(90)
HEL = ZoneInfo("Europe/Helsinki")


def slot(days_ahead: int, hour: int) -> str:
    day = date.today() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    start = datetime.combine(day, time(hour), HEL)
    return f"{start.isoformat()}|{(start + timedelta(hours=1)).isoformat()}"


def confirm(at: str, **extra: str) -> dict[str, str]:
    return {
        "resource_id": str(demo.RESOURCE_SPORTS_HALL),
        "slot": at,
        "length": "1",
        "places": "1",
        "repeat": "1",
        "key": uuid.uuid4().hex,
        "contact_name": "Aino Asukas",
        "return_to": "/book",
        **extra,
    }


async def an_association(client: GatewayClient) -> str:
    """The demo association (its contact person: resident-turku), made by a sports clerk."""
    made = await client.post(
        "/api/v1/organisations", json=ORGANISATION, headers=await bearer(client, "clerk-sports")
    )
    assert made.status_code == 201, made.text
    return str(made.json()["organisation_id"])


async def test_a_contact_person_books_for_the_organisation_on_the_summary_page(
    suite: GatewayClient,
) -> None:
    client, org_id, at = suite, await an_association(suite), slot(12, 10)
    contact, stranger = [await bearer(client, f"resident-{x}") for x in ("turku", "kaarina")]

    summary = await client.get(
        "/book",
        params={"resource_id": str(demo.RESOURCE_SPORTS_HALL), "slot": at, "lang": "en"},
        headers=contact,
    )
    assert summary.status_code == 200, summary.text
    assert 'name="organisation_id"' in summary.text
    assert f'<option value="{org_id}">{ORGANISATION["name"]}</option>' in summary.text
    theirs = await client.get(
        "/book",
        params={"resource_id": str(demo.RESOURCE_SPORTS_HALL), "slot": at, "lang": "en"},
        headers=stranger,
    )
    assert 'name="organisation_id"' not in theirs.text  # no organisation to book for

    refused = await client.post(
        "/holds", data=confirm(at, organisation_id=org_id), headers=stranger
    )
    assert refused.status_code == 303, refused.text
    answer = json.loads(base64.urlsafe_b64decode(refused.cookies[FORM_COOKIE]))
    assert (answer["code"], answer["field"]) == ("forbidden", "organisation_id")
    cart = (await client.get("/api/v1/cart", headers=stranger)).json()
    assert cart["lines"] == []  # nothing held

    booked = await client.post("/holds", data=confirm(at, organisation_id=org_id), headers=contact)
    assert booked.status_code == 303, booked.text
    assert booked.headers["location"].startswith("/cart")
    lines = (await client.get("/api/v1/cart", headers=contact)).json()["lines"]
    assert [line["gross_cents"] for line in lines] == [1800]  # the association's price


async def test_a_weekly_series_booked_for_the_organisation_on_the_summary_is_priced_by_its_group(
    suite: GatewayClient,
) -> None:
    client, org_id, at = suite, await an_association(suite), slot(13, 10)
    contact = await bearer(client, "resident-turku")
    summary = await client.get(
        "/book",
        params={
            "resource_id": str(demo.RESOURCE_SPORTS_HALL),
            "slot": at,
            "repeat": "3",
            "lang": "en",
        },
        headers=contact,
    )
    assert summary.status_code == 200, summary.text
    assert f'<option value="{org_id}">{ORGANISATION["name"]}</option>' in summary.text
    booked = await client.post(
        "/holds", data=confirm(at, repeat="3", organisation_id=org_id), headers=contact
    )
    assert booked.status_code == 303, booked.text
    lines = (await client.get("/api/v1/cart", headers=contact)).json()["lines"]
    assert [line["gross_cents"] for line in lines] == [1800] * 3  # each at the association's
