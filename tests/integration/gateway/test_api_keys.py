"""Integration clients' API keys reach exactly the routes their scopes allow: every /api/v1
route x every key; an unknown, wrong or revoked key is 401 everywhere."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from services.gateway.settings import GatewaySettings
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, gateway_settings, make_client
from tests.integration.gateway.test_access_matrix import api_routes

KEYS = {
    "sap": ("finance",),  # the city's ERP: settlements, reconciliation, ERP export
    "koha": ("library",),
    "maps": ("gis",),
    "desk": ("refunds",),
    "erp": ("probe:write",),
    "none": (),
}
REVOKED = "old.s3cr3t-retired-key"


def secret(key_id: str) -> str:
    return f"{key_id}.s3cr3t-{key_id}-key"


def configured_keys() -> str:
    entries = [
        {
            "id": key_id,
            "sha256": hashlib.sha256(secret(key_id).encode()).hexdigest(),
            "scopes": list(scopes),
            "roles": ["finance"] if key_id == "sap" else [],
        }
        for key_id, scopes in KEYS.items()
    ]
    entries.append(
        {
            "id": "old",
            "sha256": hashlib.sha256(REVOKED.encode()).hexdigest(),
            "scopes": ["finance", "refunds"],
            "revoked": True,
        }
    )
    return json.dumps(entries)


@pytest.fixture
async def keyed(common_settings: CommonSettings, probe: None) -> AsyncIterator[GatewayClient]:
    async with make_client(common_settings, gateway_settings(api_keys=configured_keys())) as c:
        yield c


async def test_each_key_reaches_only_the_routes_its_scopes_allow(keyed) -> None:
    routes = api_routes(keyed.app)
    assert routes
    reached: dict[str, set[str]] = {key_id: set() for key_id in KEYS}
    for method, path, who in routes:
        for key_id, scopes in KEYS.items():
            response = await keyed.request(
                method, path, json={}, headers={"X-API-Key": secret(key_id)}
            )
            if who.public or set(scopes) & set(who.scopes):
                assert response.status_code not in (401, 403), (key_id, method, path)
                reached[key_id].add(f"{method} {path}")
            else:
                assert response.status_code == 403, (key_id, method, path, response.text)
                assert response.json()["code"] == "forbidden"
    assert reached["none"] == {f"{m} {p}" for m, p, w in routes if w.public}
    assert len(reached["sap"]) > len(reached["none"])  # the finance routes, nothing more


async def test_the_finance_key_reads_settlements_but_not_residents_orders(keyed) -> None:
    sap = {"X-API-Key": secret("sap")}
    order = uuid.uuid4()

    async def status(method: str, path: str, **kwargs: object) -> int:
        return (await keyed.request(method, path, headers=sap, **kwargs)).status_code  # type: ignore[arg-type]

    query = {"merchant_id": "sports", "day": "2030-01-07"}
    assert await status("GET", "/api/v1/finance/settlements", params=query) not in (401, 403)
    assert await status("GET", "/api/v1/finance/settlements.csv", params=query) not in (401, 403)
    assert await status("POST", "/api/v1/finance/erp-exports", json={}) not in (401, 403)
    assert await status("GET", "/api/v1/payments/anomalies") not in (401, 403)
    resolve = "/api/v1/payments/anomalies/1/resolve"
    assert await status("POST", resolve, json={"resolution": "ok"}) not in (401, 403)
    assert await status("GET", f"/api/v1/orders/{order}") == 403
    assert await status("GET", "/api/v1/orders") == 403
    assert await status("POST", "/api/v1/holds", json={}) == 403
    assert await status("POST", f"/api/v1/orders/{order}/refunds", json={}) == 403
    desk = {"X-API-Key": secret("desk")}
    refund = await keyed.post(f"/api/v1/orders/{order}/refunds", json={}, headers=desk)
    assert refund.status_code not in (401, 403)
    anomalies = await keyed.get("/api/v1/payments/anomalies", headers=desk)
    assert anomalies.status_code == 403  # refunds are not finance's reports


@pytest.mark.parametrize(
    "presented",
    ["nobody.s3cr3t", "sap.wrong-secret", "sap", REVOKED, ""],
    ids=["unknown", "wrong-secret", "no-secret", "revoked", "empty-id"],
)
async def test_an_unknown_or_revoked_key_is_401_everywhere(keyed, presented: str) -> None:
    if not presented:
        presented = ".s3cr3t"
    for method, path, _ in api_routes(keyed.app):
        response = await keyed.request(method, path, json={}, headers={"X-API-Key": presented})
        assert response.status_code == 401, (presented, method, path, response.text)
        assert response.json()["code"] == "unauthenticated"


def test_a_key_entry_with_an_unknown_field_is_refused_naming_it() -> None:
    settings = GatewaySettings(api_keys='[{"id": "x", "sha256": "00", "revokd": true}]')
    with pytest.raises(Exception, match="revokd"):
        settings.parsed_api_keys()
