"""The finance officer's ERP export preview page with the real services: the day's rows as an
export would make them after a paid order, nothing recorded; the export form below it; a bad
or unfinished day shown on the form naming the field, input kept; finance only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.gateway.web.render import today
from shared.settings import CommonSettings
from tests.integration.audit.conftest import patient_client
from tests.integration.audit.test_rights import paid_booking
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import real_services

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def client(hosted: Any, common_settings: CommonSettings, tmp_path: Path) -> Any:
    async with (
        real_services(hosted, tmp_path),
        patient_client(common_settings, tmp_path) as client,
    ):
        yield client


async def sign_in(client: GatewayClient, user: str) -> None:
    signed_in = await client.post("/dev-issuer/sign-in", data={"user": user, "next": "/"})
    assert signed_in.status_code == 303, signed_in.text


async def test_the_preview_shows_the_days_rows_and_records_nothing(
    client: GatewayClient, common_settings: CommonSettings
) -> None:
    await paid_booking(client, await bearer(client, "resident-turku"))
    assert common_settings.database_url
    db = await asyncpg.connect(common_settings.database_url)
    try:  # the sale as if booked yesterday, a day that has ended
        await db.execute("UPDATE payment.ledger_entries SET booked_on = booked_on - 1")
        yesterday = (today() - timedelta(days=1)).isoformat()
        await sign_in(client, "finance")
        finance = await client.get("/finance", params={"lang": "en"})
        assert 'formaction="/finance/erp-preview"' in finance.text
        page = await client.get("/finance/erp-preview", params={"day": yesterday, "lang": "en"})
        assert page.status_code == 200, page.text
        assert '<tr data-kind="sale"><td>Card payment</td>' in page.text
        assert 'data-total="sale"' in page.text
        assert 'data-exported-runs="0"' in page.text
        assert 'action="/finance/erp-export"' in page.text
        assert await db.fetchval("SELECT count(*) FROM payment.erp_exports") == 0

        fi = await client.get("/finance/erp-preview", params={"day": yesterday, "lang": "fi"})
        assert "Korttimaksu" in fi.text

        unfinished = await client.get(
            "/finance/erp-preview", params={"day": today().isoformat(), "lang": "sv"}
        )
        assert unfinished.status_code == 422
        assert 'id="error-day"' in unfinished.text
        assert f'value="{today().isoformat()}"' in unfinished.text
        bad = await client.get("/finance/erp-preview", params={"day": "31.12.", "lang": "en"})
        assert bad.status_code == 422
        assert 'href="#day"' in bad.text
        assert 'value="31.12."' in bad.text
        assert await db.fetchval("SELECT count(*) FROM payment.erp_exports") == 0
    finally:
        await db.close()


async def test_only_finance_sees_the_preview(client: GatewayClient) -> None:
    await sign_in(client, "clerk-sports")
    assert (await client.get("/finance/erp-preview")).status_code == 403
