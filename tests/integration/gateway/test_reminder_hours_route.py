"""A resource's reminder time through the gateway with the real booking and notify services:
staff of its department set it and put it back to the default; others are refused; a bad
value is 4xx naming the field and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.booking import demo
from shared.settings import CommonSettings
from tests.integration.audit.conftest import patient_client
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import real_services

pytestmark = pytest.mark.timeout(90)
HALL = f"/api/v1/resources/{demo.RESOURCE_SPORTS_HALL}/reminders"


@pytest.fixture
async def client(hosted: Any, common_settings: CommonSettings, tmp_path: Path) -> Any:
    async with (
        real_services(hosted, tmp_path),
        patient_client(common_settings, tmp_path) as client,
    ):
        yield client


async def test_staff_set_a_resources_reminder_hours_and_others_cannot(
    client: GatewayClient,
) -> None:
    clerk = await bearer(client, "clerk-sports")
    own = await client.put(HALL, json={"hours": 3}, headers=clerk)
    assert own.status_code == 200, own.text
    assert own.json() == {
        "resource_id": str(demo.RESOURCE_SPORTS_HALL),
        "hours": 3,
        "own": True,
    }
    bad = await client.put(HALL, json={"hours": 400}, headers=clerk)
    assert bad.status_code in (400, 422), bad.text
    assert bad.json()["field"] == "hours"
    resident = await bearer(client, "resident-turku")
    assert (await client.put(HALL, json={"hours": 1}, headers=resident)).status_code == 403
    library = await bearer(client, "clerk-library")
    assert (await client.put(HALL, json={"hours": 1}, headers=library)).status_code == 403
    back = await client.put(HALL, json={"hours": None}, headers=clerk)
    assert back.status_code == 200, back.text
    assert back.json()["own"] is False
