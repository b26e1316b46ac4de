"""Linking a library card through the gateway: the caller's address reaches the cart, whose
PIN lock-out per address answers 429 `rate_limited` with Retry-After (issue 14, item 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.settings import CommonSettings
from tests.integration.gateway.conftest import bearer, gateway_settings, make_client
from tests.integration.gateway.services import real_services


async def test_guessing_from_one_address_is_locked_out_and_others_are_not(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> None:
    settings = gateway_settings(trusted_proxies="127.0.0.0/8")  # the test client is the proxy
    async with (
        real_services(hosted, tmp_path, booking=False),
        make_client(common_settings, settings) as client,
    ):
        me = await bearer(client, "resident-turku")

        async def link(card: str, address: str) -> Any:
            return await client.post(
                "/api/v1/library/card",
                json={"card_number": card, "pin": "0000"},
                headers=me | {"x-forwarded-for": address},
            )

        for n in range(20):  # the cart's default: 20 failures per address
            wrong = await link(f"260077{n:04d}", "203.0.113.9")
            assert wrong.status_code == 403, wrong.text
            assert wrong.json()["code"] == "forbidden"
        locked = await link("2600779999", "203.0.113.9")
        assert locked.status_code == 429, locked.text
        assert locked.json()["code"] == "rate_limited"
        assert 0 < int(locked.headers["retry-after"]) <= 60
        elsewhere = await link("2600779999", "198.51.100.3")
        assert elsewhere.status_code == 403  # another address: an honest "wrong PIN"
