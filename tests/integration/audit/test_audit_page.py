"""The staff admin's audit trail page (`/staff/audit`) with the real services: a clerk's
change is found by who did it and by its object, as an attempt and its outcome; the chain
check answers on the page; a bad filter is shown on the form naming the field, input kept;
nobody but an admin opens the page."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from services.booking import demo
from shared.settings import CommonSettings
from tests.integration.audit.conftest import Audit, hosted_audit, patient_client
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import real_services

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def suite(hosted: Any, common_settings: CommonSettings, tmp_path: Path) -> Any:
    async with (
        hosted_audit(hosted, common_settings) as audit,
        real_services(hosted, tmp_path),
        patient_client(common_settings, tmp_path) as client,
    ):
        yield client, audit


async def sign_in(client: GatewayClient, user: str) -> None:
    signed_in = await client.post("/dev-issuer/sign-in", data={"user": user, "next": "/"})
    assert signed_in.status_code == 303, signed_in.text


async def test_the_admin_finds_a_clerks_change_and_checks_the_chain(
    suite: tuple[GatewayClient, Audit],
) -> None:
    client, audit = suite
    clerk = await bearer(client, "clerk-sports")
    hall = str(demo.RESOURCE_SPORTS_HALL)
    rules = [
        {"customer_group": "resident", "unit": "hour", "amount_cents": 1234, "vat_rate_bp": 1000}
    ]
    changed = await client.put(
        f"/api/v1/resources/{hall}/prices",
        json={"rules": rules},
        headers={**clerk, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert changed.status_code == 200, changed.text
    await audit.eventually(
        lambda: audit.entries(action="booking.v1.set_prices", kind="change"), timeout=20
    )

    await sign_in(client, "admin")
    found = await client.get(
        "/staff/audit",
        params={"actor": "demo:clerk-sports", "object_id": hall, "lang": "en"},
    )
    assert found.status_code == 200, found.text
    html = found.text
    assert "booking.v1.set_prices" in html
    assert ">Attempt<" in html  # written ahead,
    assert ">Change<" in html  # then its outcome
    assert 'value="demo:clerk-sports"' in html  # the filters are kept
    nothing = await client.get("/staff/audit", params={"actor": "nobody", "lang": "en"})
    assert "No entries match." in nothing.text

    checked = await client.get("/staff/audit", params={"verify": "1", "lang": "fi"})
    assert 'data-chain="ok"' in checked.text
    assert "Ketju on ehjä" in checked.text

    bad = await client.get("/staff/audit", params={"since": "eilen", "actor": "x", "lang": "sv"})
    assert bad.status_code == 422
    assert 'href="#since"' in bad.text  # the error summary links to the field
    assert 'id="error-since"' in bad.text
    assert 'value="eilen"' in bad.text  # input kept
    assert 'value="x"' in bad.text
    assert 'lang="sv"' in bad.text


async def test_only_an_admin_opens_the_page(suite: tuple[GatewayClient, Audit]) -> None:
    client, _ = suite
    await sign_in(client, "clerk-sports")
    assert (await client.get("/staff/audit")).status_code == 403
    staff = await client.get("/staff")
    assert "/staff/audit" not in staff.text
