"""Request ids, trace context, security headers, idempotency keys, shared rate limits."""

from __future__ import annotations

import logging
import uuid

from services.gateway.proxies import client_ip
from services.gateway.settings import GatewaySettings
from tests.integration.gateway.conftest import bearer, gateway_settings, make_client

THING = uuid.uuid4()
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_request_id_and_trace_travel_to_the_service_and_back(client) -> None:
    headers = {
        **await bearer(client, "resident-turku"),
        "x-request-id": "req-12345678",
        "traceparent": TRACE,
    }
    response = await client.post(f"/api/v1/probe/{THING}", json={"text": "hi"}, headers=headers)
    assert response.headers["x-request-id"] == "req-12345678"
    assert response.headers["traceparent"].split("-")[1] == TRACE.split("-")[1]
    body = response.json()
    assert body["request_id"] == "req-12345678"
    assert body["traceparent"].split("-")[1] == TRACE.split("-")[1]
    fresh = await client.get(f"/api/v1/probe/{THING}")
    assert len(fresh.headers["x-request-id"]) >= 16
    assert fresh.headers["traceparent"].startswith("00-")


async def test_security_headers_on_every_reply(client) -> None:
    for response in (await client.get(f"/api/v1/probe/{THING}"), await client.get("/nowhere")):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]
        assert "x-request-id" in response.headers


async def test_hsts_only_when_the_public_url_is_https(common_settings, client) -> None:
    assert "strict-transport-security" not in (await client.get("/ready")).headers
    settings = gateway_settings(public_url="https://varaukset.turku.fi")
    async with make_client(common_settings, settings) as secure:
        for response in (await secure.get("/ready"), await secure.get("/nowhere")):
            hsts = response.headers["strict-transport-security"]
            assert "max-age=31536000" in hsts


async def test_idempotency_key_header_becomes_the_request_field(client) -> None:
    response = await client.post(
        f"/api/v1/probe/{THING}",
        json={"text": "hi"},
        headers={**await bearer(client, "resident-turku"), "Idempotency-Key": "key-1"},
    )
    assert response.json()["idempotency_key"] == "key-1"
    assert response.json()["thing_id"] == str(THING)


async def test_query_parameters_reach_the_service(client) -> None:
    response = await client.get(f"/api/v1/probe/{THING}?limit=7")
    assert response.status_code == 200
    assert response.json()["count"] == 7


async def test_rate_limit_is_shared_by_two_replicas(common_settings, probe) -> None:
    bucket = f"rl_{uuid.uuid4().hex[:8]}"
    settings = gateway_settings(
        rate_limit_ip_per_minute=6, rate_limit_bucket=bucket, rate_limit_sync_s=0.02
    )
    async with (
        make_client(common_settings, settings) as one,
        make_client(common_settings, settings) as two,
    ):
        for _ in range(3):
            assert (await one.get(f"/api/v1/probe/{THING}")).status_code == 200
        await (await one.app.state.services.resources()).limiter.sync()
        for _ in range(3):
            assert (await two.get(f"/api/v1/probe/{THING}")).status_code == 200
        limited = await two.get(f"/api/v1/probe/{THING}")
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    trusted = GatewaySettings(trusted_proxies="10.0.0.0/8").trusted_networks()
    headers = {"x-forwarded-for": "203.0.113.7, 10.0.0.5"}
    assert client_ip({"client": ("10.0.0.1", 1)}, headers, trusted) == "203.0.113.7"
    assert client_ip({"client": ("198.51.100.1", 1)}, headers, trusted) == "198.51.100.1"
    assert client_ip({"client": ("10.0.0.1", 1)}, headers, ()) == "10.0.0.1"


async def test_rate_limit_counts_the_client_a_trusted_proxy_names_in_forwarded(
    common_settings, probe
) -> None:
    settings = gateway_settings(
        rate_limit_ip_per_minute=2,
        rate_limit_bucket=f"rl_{uuid.uuid4().hex[:8]}",
        trusted_proxies="127.0.0.0/8",
        forwarded_header="forwarded",
    )
    async with make_client(common_settings, settings) as behind_proxy:
        aino = {"Forwarded": 'for="203.0.113.7";proto=https'}
        for _ in range(2):
            assert (
                await behind_proxy.get(f"/api/v1/probe/{THING}", headers=aino)
            ).status_code == 200
        assert (await behind_proxy.get(f"/api/v1/probe/{THING}", headers=aino)).status_code == 429
        # Another client behind the same proxy has its own count; a forged earlier hop does
        # not buy Aino a new one.
        mikko = {"Forwarded": "for=203.0.113.8"}
        assert (await behind_proxy.get(f"/api/v1/probe/{THING}", headers=mikko)).status_code == 200
        forged = {"Forwarded": "for=192.0.2.1, for=203.0.113.7"}
        assert (await behind_proxy.get(f"/api/v1/probe/{THING}", headers=forged)).status_code == 429


async def test_forwarded_from_an_untrusted_peer_is_ignored(common_settings, probe) -> None:
    settings = gateway_settings(
        rate_limit_ip_per_minute=2,
        rate_limit_bucket=f"rl_{uuid.uuid4().hex[:8]}",
        trusted_proxies="10.0.0.0/8",
        forwarded_header="forwarded",
    )
    async with make_client(common_settings, settings) as direct:
        for n in range(2):
            spoof = {"Forwarded": f"for=203.0.113.{n}"}
            assert (await direct.get(f"/api/v1/probe/{THING}", headers=spoof)).status_code == 200
        again = {"Forwarded": "for=203.0.113.99"}
        assert (await direct.get(f"/api/v1/probe/{THING}", headers=again)).status_code == 429


async def test_access_log_has_ids_but_no_personal_data_or_secrets(client, caplog) -> None:
    token = (await bearer(client, "resident-turku"))["Authorization"]
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        await client.get(
            f"/api/v1/probe/{THING}?limit=3&text=aino.virtanen@example.fi",
            headers={"Authorization": token},
        )
    records = [r for r in caplog.records if r.name == "gateway.access"]
    assert records
    entry = records[-1].ctx
    assert entry["status"] == 200
    assert entry["request_id"]
    assert entry["route"] == "/api/v1/probe/{thing_id}"
    logged = repr(entry) + records[-1].getMessage()
    for secret in ("aino", "Virtanen", token.split()[1][:20], str(THING), "demo:resident"):
        assert secret not in logged


async def test_cors_allows_only_configured_origins(common_settings, probe) -> None:
    settings = gateway_settings(cors_origins="https://varaukset.turku.fi")
    async with make_client(common_settings, settings) as cors_client:
        allowed = await cors_client.options(
            f"/api/v1/probe/{THING}",
            headers={
                "Origin": "https://varaukset.turku.fi",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Idempotency-Key",
            },
        )
        assert allowed.headers["access-control-allow-origin"] == "https://varaukset.turku.fi"
        paged = await cors_client.options(  # a pre-flight carries the request's query string
            f"/api/v1/probe/{THING}?limit=5",
            headers={
                "Origin": "https://varaukset.turku.fi",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "X-Request-Id",
            },
        )
        assert paged.status_code in (200, 204), paged.text
        assert paged.headers["access-control-allow-origin"] == "https://varaukset.turku.fi"
        other = await cors_client.get(
            f"/api/v1/probe/{THING}", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


async def test_dev_issuer_is_absent_unless_configured(common_settings, probe) -> None:
    async with make_client(common_settings, gateway_settings(dev_issuer=False)) as plain:
        assert (await plain.get("/dev-issuer/jwks")).status_code == 404
        response = await plain.get(
            f"/api/v1/probe/{THING}", headers={"Authorization": "Bearer x.y.z"}
        )
        assert response.status_code == 401


async def test_rate_limit_per_principal_spares_other_callers(common_settings, probe) -> None:
    settings = gateway_settings(
        rate_limit_principal_per_minute=2,
        rate_limit_ip_per_minute=1000,
        rate_limit_bucket=f"rl_{uuid.uuid4().hex[:8]}",
    )
    async with make_client(common_settings, settings) as limited:
        aino = await bearer(limited, "resident-turku")
        for _ in range(2):
            assert (await limited.get(f"/api/v1/probe/{THING}", headers=aino)).status_code == 200
        refused = await limited.get(f"/api/v1/probe/{THING}", headers=aino)
        assert refused.status_code == 429
        assert "retry-after" in refused.headers
        mikko = await bearer(limited, "resident-kaarina")
        assert (await limited.get(f"/api/v1/probe/{THING}", headers=mikko)).status_code == 200
