"""Sign-in: dev issuer tokens (Bearer and cookie), API keys, expiry, foreign issuers, roles."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.gateway.settings import GatewaySettings, check_settings
from shared.settings import CommonSettings, SettingsError
from tests.integration.gateway.conftest import API_KEY, bearer

THING = uuid.uuid4()


async def test_bearer_token_principal_reaches_the_service(client) -> None:
    response = await client.post(
        f"/api/v1/probe/{THING}",
        json={"text": "hi"},
        headers=await bearer(client, "resident-turku"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["principal"] == "demo:resident-turku"


async def test_sign_in_page_sets_a_session_cookie_that_authenticates(client) -> None:
    page = await client.get("/dev-issuer/sign-in")
    assert page.status_code == 200
    for user in (
        "resident-turku",
        "resident-kaarina",
        "clerk-sports",
        "clerk-library",
        "clerk-gis",
        "finance",
        "admin",
    ):
        assert f'value="{user}"' in page.text
    signed_in = await client.post(
        "/dev-issuer/sign-in", data={"user": "admin", "next": "//evil.example"}
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/"
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    response = await client.post(f"/api/v1/probe/{THING}", json={"text": "hi"})
    assert response.json()["principal"] == "demo:admin"
    await client.post("/auth/sign-out")
    client.cookies.clear()
    assert (await client.post(f"/api/v1/probe/{THING}", json={"text": "hi"})).status_code == 401


async def test_discovery_and_jwks_are_published(client) -> None:
    discovery = (await client.get("/dev-issuer/.well-known/openid-configuration")).json()
    assert discovery["jwks_uri"].endswith("/dev-issuer/jwks")
    keys = (await client.get("/dev-issuer/jwks")).json()["keys"]
    assert keys[0]["kty"] == "RSA"
    assert "d" not in keys[0]


async def test_anonymous_is_401_and_wrong_role_is_403(client) -> None:
    anonymous = await client.post(f"/api/v1/probe/{THING}", json={"text": "hi"})
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    clerk = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "hi"}, headers=await bearer(client, "clerk-gis")
    )
    assert clerk.status_code == 403
    assert clerk.json()["code"] == "forbidden"


async def test_expired_token_is_refused(client) -> None:
    issuer = client.app.state.dev_issuer
    old = issuer.sign("resident-turku", lifetime_s=-120)  # beyond the 30 s clock skew
    response = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "hi"}, headers={"Authorization": f"Bearer {old}"}
    )
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    skewed = issuer.sign("resident-turku", lifetime_s=-5)  # inside the clock skew
    ok = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "hi"}, headers={"Authorization": f"Bearer {skewed}"}
    )
    assert ok.status_code == 201


async def test_wrong_audience_issuer_or_key_is_refused(client) -> None:
    issuer = client.app.state.dev_issuer
    for token in (
        issuer.sign("resident-turku", aud="someone-else"),
        issuer.sign("resident-turku", iss="https://evil.example"),
        jwt.encode(
            {
                "sub": "x",
                "iss": issuer.issuer,
                "aud": issuer.audience,
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
            },
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": issuer.kid},
        ),
        "not-a-token",
    ):
        response = await client.post(
            f"/api/v1/probe/{THING}",
            json={"text": "hi"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401, token


async def test_api_key_with_scope_passes_and_bad_key_is_401(client) -> None:
    ok = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "hi"}, headers={"X-API-Key": API_KEY}
    )
    assert ok.status_code == 201
    assert ok.json()["principal"] == "api_key:erp"
    bad = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "hi"}, headers={"X-API-Key": "erp.guess"}
    )
    assert bad.status_code == 401


def test_dev_issuer_is_refused_in_production() -> None:
    production = CommonSettings(env="production")
    with pytest.raises(SettingsError):
        check_settings(production, GatewaySettings(dev_issuer=True, oidc_issuer="https://idp"))
    with pytest.raises(SettingsError):
        check_settings(production, GatewaySettings(demo_data=True, oidc_issuer="https://idp"))
    check_settings(production, GatewaySettings(oidc_issuer="https://idp"))


async def test_stale_session_cookie_is_anonymous_and_cleared(client) -> None:
    # A cookie signed by the key of a previous gateway run (the dev key is regenerated).
    from services.gateway.dev_issuer import DevIssuer

    issuer = client.app.state.dev_issuer
    stale = DevIssuer(issuer.issuer, issuer.audience).sign("resident-turku")
    client.cookies.clear()
    for token in (stale, "not-a-token"):
        cookie = {"cookie": f"tcs_session={token}"}
        for method, path, expected in (
            ("GET", "/sign-in", 200),
            ("GET", "/dev-issuer/sign-in", 200),
            ("GET", "/api/docs", 200),
            ("GET", "/ready", 200),
            ("POST", "/auth/sign-out", 303),
        ):
            response = await client.request(method, path, headers=cookie)
            assert response.status_code == expected, (token, path, response.text)
            cleared = [c for c in response.headers.get_list("set-cookie") if "tcs_session" in c]
            assert cleared, path
            assert "max-age=0" in cleared[0].lower(), (path, cleared)
            client.cookies.clear()
        health = await client.get("/health", headers=cookie)
        assert health.status_code != 401
        # A route that needs sign-in says so (anonymous), not "your token is bad".
        api = await client.post(f"/api/v1/probe/{THING}", json={"text": "hi"}, headers=cookie)
        assert api.status_code == 401
        assert api.json()["detail"] == "sign in first"
        # Signing in again replaces the stale cookie (no clearing header beside the new one).
        signed_in = await client.post(
            "/dev-issuer/sign-in", data={"user": "admin", "next": "/"}, headers=cookie
        )
        cookies = [c for c in signed_in.headers.get_list("set-cookie") if "tcs_session" in c]
        assert len(cookies) == 1, cookies
        assert "max-age=0" not in cookies[0].lower(), cookies
        ok = await client.post(f"/api/v1/probe/{THING}", json={"text": "hi"})
        assert ok.json()["principal"] == "demo:admin"
        client.cookies.clear()


async def test_bad_bearer_token_is_still_401_on_public_routes(client) -> None:
    response = await client.get("/ready", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
