"""Whatever a client sends as a body, every write route of the real services answers 4xx: never
a 500, and never an error logged with a stack trace for the client's mistake."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.settings import CommonSettings
from tests.integration.gateway.conftest import (
    GatewayClient,
    gateway_settings,
    make_client,
    token_for,
)
from tests.integration.gateway.services import real_services
from tests.integration.gateway.test_access_matrix import api_routes
from tests.integration.gateway.test_journey import GIS_PRODUCT

DEEP = 10_000
BODIES: dict[str, bytes] = {
    "nested 10,000 levels": b"[" * DEEP + b"]" * DEEP,
    "nested objects, unclosed": b'{"a": ' * DEEP,
    "nested in a field, unclosed": b'{"items": ' + b"[" * DEEP,
    "truncated": b'{"items": [',
    "not UTF-8": b'{"reason": "\xff\xfe"}',
    "lone surrogate": b'{"reason": "\\ud800", "note": "\\udfff"}',
    "NUL in text": b'{"reason": "a\\u0000b", "note": "\\u0000"}',
    "huge number": b'{"amount_cents": 1e999999}',
    "huge integer": b'{"amount_cents": 123456789012345678901234567890}',
    "NaN": b'{"amount_cents": NaN}',
    "not an object": b"[]",
    "a string": b'"x"',
    "null": b"null",
    "empty": b"",
}


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    settings = gateway_settings(max_body_bytes=1_048_576)  # the default: deep bodies fit
    async with real_services(hosted, tmp_path), make_client(common_settings, settings) as client:
        yield client


@pytest.mark.timeout(300)
async def test_no_body_makes_any_write_route_fail_with_500_or_a_stack_trace(
    suite: GatewayClient, caplog: pytest.LogCaptureFixture
) -> None:
    admin = {"Authorization": f"Bearer {await token_for(suite, 'admin')}"}
    writes = [(m, p) for m, p, _ in api_routes(suite.app) if m in ("POST", "PUT", "PATCH")]
    assert len(writes) > 20
    failures = []
    with caplog.at_level(logging.ERROR):
        for method, path in writes:
            for name, body in BODIES.items():
                response = await suite.request(
                    method,
                    path,
                    content=body,
                    headers={**admin, "Content-Type": "application/json"},
                )
                if response.status_code >= 500:
                    failures.append((method, path, name, response.status_code, response.text))
    assert not failures, "\n".join(map(str, failures))
    traced = [r for r in caplog.records if r.exc_info]
    assert not traced, [(r.name, r.getMessage()) for r in traced]


async def test_a_nul_character_anywhere_is_400_naming_where(
    suite: GatewayClient, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL cannot store U+0000 in text: refused at the door, not deep in a service."""
    me = {"Authorization": f"Bearer {await token_for(suite, 'resident-turku')}"}
    with caplog.at_level(logging.ERROR):
        in_json = await suite.post(
            "/api/v1/cart/gis-products",
            json={**GIS_PRODUCT, "purpose_of_use": "a school\x00project"},
            headers=me,
        )
        assert in_json.status_code == 400, in_json.text
        assert in_json.json()["field"] == "purpose_of_use"
        in_query = await suite.get("/api/v1/resources?merchant_id=sports%00", headers=me)
        assert in_query.status_code == 400, in_query.text
        assert in_query.json()["field"] == "merchant_id"
        in_path = await suite.get("/api/v1/calendar/feeds/abc%00def")
        assert in_path.status_code == 400, in_path.text
        in_form = await suite.post("/auth/sign-out", data={"next": "/\x00"}, headers=me)
        assert in_form.status_code in (303, 400), in_form.text  # sign-out reads no form
    assert not [r for r in caplog.records if r.exc_info]
    cart = (await suite.get("/api/v1/cart", headers=me)).json()
    assert cart["lines"] == []
