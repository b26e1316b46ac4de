"""Booking through the gateway with the real booking service: availability, a hold, my
reservations, calendar feeds; another resident and another department's clerk are refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.booking import demo
from services.booking.app import MIGRATIONS, build
from services.booking.settings import BookingSettings
from shared.settings import CommonSettings
from tests.conftest import clean_schema
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings, make_client


@pytest.fixture
async def booked(hosted: Any, common_settings: CommonSettings) -> AsyncIterator[GatewayClient]:
    settings = BookingSettings(demo_data=True, sweep_interval_s=3600)
    async with hosted("booking", lambda infra: build(infra, settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "booking")
        async with pool.acquire() as conn:
            await demo.seed(conn)
        try:
            async with make_client(common_settings, gateway_settings()) as client:
                yield client
        finally:
            await clean_schema(pool, "booking")


async def free_slot(client: GatewayClient) -> tuple[str, dict[str, Any]]:
    now = datetime.now(UTC)
    found = await client.get(
        "/api/v1/search",
        params={
            "starts_after": (now + timedelta(days=2)).isoformat(),
            "ends_before": (now + timedelta(days=3)).isoformat(),
            "merchant_id": "sports",
        },
    )
    assert found.status_code == 200, found.text
    hit = next(h for h in found.json()["hits"] if not h["resource"]["needs_approval"])
    resource_id = hit["resource"]["resource_id"]
    first = (now + timedelta(days=2)).date().isoformat()
    free = await client.get(
        f"/api/v1/resources/{resource_id}/availability", params={"first": first, "last": first}
    )
    assert free.status_code == 200, free.text
    return resource_id, free.json()["slots"][0]


async def test_resident_holds_a_slot_and_only_they_see_it(booked) -> None:
    client = booked
    me = await bearer(client, "resident-turku")
    resource_id, slot = await free_slot(client)
    hold = {
        "items": [
            {"resource_id": resource_id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
        ]
    }
    key = {"Idempotency-Key": f"hold-{uuid.uuid4()}"}
    held = await client.post("/api/v1/holds", json=hold, headers={**me, **key})
    assert held.status_code == 201, held.text
    reservation = held.json()["reservations"][0]
    assert reservation["state"] == "held"
    again = await client.post("/api/v1/holds", json=hold, headers={**me, **key})
    assert again.json()["reservations"][0]["reservation_id"] == reservation["reservation_id"]

    taken = await client.post(
        "/api/v1/holds", json=hold, headers=await bearer(client, "resident-kaarina")
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "slot_unavailable"

    rid = reservation["reservation_id"]
    mine = await client.get("/api/v1/reservations", headers=me)
    assert rid in [r["reservation_id"] for r in mine.json()["reservations"]]
    assert (await client.get(f"/api/v1/reservations/{rid}", headers=me)).status_code == 200
    ics = await client.get(f"/api/v1/reservations/{rid}/ics", headers=me)
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.text

    for outsider in ("resident-kaarina", "clerk-library"):
        who = await bearer(client, outsider)
        seen = await client.get(f"/api/v1/reservations/{rid}", headers=who)
        assert seen.status_code in (403, 404), (outsider, seen.text)
        cancel = await client.post(f"/api/v1/reservations/{rid}/cancel", json={}, headers=who)
        assert cancel.status_code in (403, 404), (outsider, cancel.text)
    approve = await client.post(
        f"/api/v1/reservations/{rid}/approve", json={}, headers=await bearer(client, "clerk-gis")
    )
    assert approve.status_code in (403, 404), approve.text

    released = await client.post(f"/api/v1/reservations/{rid}/release", json={}, headers=me)
    assert released.status_code == 201, released.text
    assert released.json()["state"] == "released"


async def test_private_calendar_feed_by_link_and_public_busy_feed(booked) -> None:
    client = booked
    me = await bearer(client, "resident-turku")
    token = (await client.post("/api/v1/calendar/token", json={}, headers=me)).json()["token"]
    assert token
    feed = await client.get(f"/api/v1/calendar/feeds/{token}")  # no sign-in: the link is it
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    forged = await client.get(f"/api/v1/calendar/feeds/{token}x")
    assert forged.status_code in (403, 404)
    resource_id, _ = await free_slot(client)
    busy = await client.get(f"/api/v1/resources/{resource_id}/busy")
    assert busy.status_code == 200
    assert "BEGIN:VCALENDAR" in busy.text


async def test_paging_and_filters_work_but_a_typo_is_refused(booked) -> None:
    client = booked
    listed = await client.get(
        "/api/v1/resources", params={"limit": 2, "offset": 0, "kind": "space"}
    )
    assert listed.status_code == 200, listed.text
    assert 0 < len(listed.json()["resources"]) <= 2
    typo = await client.get("/api/v1/resources", params={"limt": 2})
    assert typo.status_code == 400, typo.text
    assert typo.headers["content-type"].startswith("application/problem+json")
    assert typo.json()["field"] == "limt"


async def test_units_are_listed_for_anyone_and_bad_paging_names_the_field(booked) -> None:
    client = booked
    listed = await client.get("/api/v1/units", params={"merchant_id": "sports", "limit": 10})
    assert listed.status_code == 200, listed.text
    units = listed.json()["units"]
    assert units
    assert {u["merchant_id"] for u in units} == {"sports"}
    assert all(u["name"]["fi"] and "address" in u for u in units)
    bad = await client.get("/api/v1/units", params={"offset": -1})
    assert bad.status_code == 422, bad.text  # booking's validation, naming the field
    assert (bad.json()["code"], bad.json()["field"]) == ("validation_failed", "offset")
