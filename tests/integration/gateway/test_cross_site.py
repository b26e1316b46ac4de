"""Writes carried by the session cookie must come from our own pages: another site's Origin (or
`Sec-Fetch-Site: cross-site` / `same-site` without one) is 403, an API body that is not JSON
is 415; Bearer-token and API-key callers are not affected. (tests/e2e/test_cross_site.py
sends the same over real HTTP to the whole suite.)"""

from __future__ import annotations

import uuid

from tests.integration.gateway.conftest import API_KEY, GatewayClient, gateway_settings, make_client

THING = uuid.uuid4()
PROBE = f"/api/v1/probe/{THING}"
EVIL = "https://evil.example"


async def sign_in(client: GatewayClient, user: str = "resident-turku") -> None:
    signed_in = await client.post("/dev-issuer/sign-in", data={"user": user, "next": "/"})
    assert signed_in.status_code == 303, signed_in.text


async def test_a_cookie_write_from_another_site_is_refused(client) -> None:
    await sign_in(client)
    for headers in (
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": "http://testserver.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is not us
    ):
        for content_type in ("text/plain", "application/json"):
            response = await client.post(
                PROBE,
                content=b'{"text": "forged"}',
                headers={**headers, "Content-Type": content_type},
            )
            assert response.status_code == 403, (headers, content_type, response.text)
            assert response.json()["code"] == "forbidden"
        # Other methods too, and the pages' own routes (sign-out here).
        assert (await client.delete(PROBE, headers=headers)).status_code in (403, 405)
        assert (await client.post("/auth/sign-out", headers=headers)).status_code == 403


async def test_a_cookie_api_write_must_be_json(client) -> None:
    await sign_in(client)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = await client.post(
            PROBE,
            content=b'{"text": "hi"}',
            headers={"Origin": "http://testserver", "Content-Type": content_type},
        )
        assert response.status_code == 415, (content_type, response.text)
        assert response.json()["code"] == "unsupported_media_type"
        assert response.json()["field"] == "content-type"
    no_type = await client.post(PROBE, content=b'{"text": "hi"}')
    assert no_type.status_code == 415, no_type.text


async def test_a_cookie_write_from_our_own_pages_passes(client) -> None:
    await sign_in(client)
    for headers in (
        {"Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-origin"},
        {},  # not a browser: no ambient credentials to abuse
    ):
        response = await client.post(PROBE, json={"text": "hi"}, headers=headers)
        assert response.status_code == 201, (headers, response.text)
        assert response.json()["principal"] == "demo:resident-turku"
    typed = await client.post(
        PROBE,
        content=b'{"text": "hi"}',
        headers={"Origin": "http://testserver", "Content-Type": "application/merge-patch+json"},
    )
    assert typed.status_code == 201, typed.text


async def test_a_cors_origin_may_write_with_the_cookie(common_settings, probe) -> None:
    settings = gateway_settings(cors_origins="https://varaukset.turku.fi")
    async with make_client(common_settings, settings) as client:
        await sign_in(client)
        allowed = await client.post(
            PROBE, json={"text": "hi"}, headers={"Origin": "https://varaukset.turku.fi"}
        )
        assert allowed.status_code == 201, allowed.text
        assert (
            await client.post(PROBE, json={"text": "hi"}, headers={"Origin": EVIL})
        ).status_code == 403


async def test_bearer_and_api_key_callers_are_not_affected(client) -> None:
    token = (await client.post("/dev-issuer/token", json={"user": "resident-turku"})).json()
    client.cookies.clear()
    for credentials in (
        {"Authorization": f"Bearer {token['access_token']}"},
        {"X-API-Key": API_KEY},
    ):
        response = await client.post(
            PROBE,
            content=b'{"text": "hi"}',
            headers={**credentials, "Origin": EVIL, "Content-Type": "text/plain"},
        )
        assert response.status_code == 201, (credentials, response.text)
