"""A configured OpenID Connect issuer: discovery + JWKS over HTTP, key rotation picked up."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.gateway.conftest import gateway_settings, make_client

THING = uuid.uuid4()


class Issuer:
    """A tiny OIDC issuer over real HTTP whose signing key can be rotated."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.fetches = 0
        self.url = ""
        self.rotate()

    def rotate(self) -> str:
        kid = uuid.uuid4().hex[:8]
        self.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        return kid

    def jwks(self) -> dict[str, Any]:
        self.fetches += 1
        return {
            "keys": [
                {**jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key(), as_dict=True), "kid": kid}
                for kid, k in self.keys.items()
            ]
        }

    def token(self, **claims: Any) -> str:
        kid, key = next(iter(self.keys.items()))
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": "tcs",
            "sub": "oidc:aino",
            "iat": now,
            "exp": now + 300,
            "roles": ["resident"],
            **claims,
        }
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    state = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": state.url, "jwks_uri": f"{state.url}/jwks"}
            elif self.path == "/jwks":
                body = state.jwks()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def test_tokens_of_a_configured_issuer_and_key_rotation(
    issuer: Issuer, common_settings, probe
) -> None:
    settings = gateway_settings(
        dev_issuer=False, oidc_issuer=issuer.url, oidc_audience="tcs", oidc_jwks_min_refresh_s=0
    )
    async with make_client(common_settings, settings) as client:
        url = f"/api/v1/probe/{THING}"

        async def call(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return (await client.post(url, json={"text": "hi"}, headers=headers)).status_code

        assert await call(issuer.token()) == 201
        assert await call(issuer.token(sub="oidc:other")) == 201
        assert issuer.fetches == 1  # keys cached
        issuer.rotate()
        assert await call(issuer.token(sub="oidc:rotated")) == 201  # unknown kid: refetched
        assert issuer.fetches == 2
        assert await call(issuer.token(aud="elsewhere")) == 401
        assert await call(issuer.token(iss="https://evil.example")) == 401
        assert await call(issuer.token(exp=int(time.time()) - 600)) == 401


async def test_issuer_down_a_session_cookie_is_anonymous_on_public_routes_and_503_elsewhere(
    issuer: Issuer, common_settings, probe
) -> None:
    token = issuer.token()
    down = "http://127.0.0.1:9"  # nothing listens: the keys were never fetched
    settings = gateway_settings(
        dev_issuer=False,
        oidc_issuer=down,
        oidc_jwks_url=f"{down}/jwks",
        oidc_audience="tcs",
        oidc_jwks_grace_s=0,
    )
    async with make_client(common_settings, settings) as client:
        client.cookies.set(settings.session_cookie, token)
        public = await client.get(f"/api/v1/probe/{THING}")
        assert public.status_code == 200, public.text
        assert public.json()["principal"] is None  # anonymous meanwhile
        assert "set-cookie" not in public.headers  # the session is kept for later
        if any(getattr(r, "path", "") == "/" for r in client.app.routes):
            assert (await client.get("/")).status_code == 200  # the front page
        needs_sign_in = await client.post(f"/api/v1/probe/{THING}", json={"text": "hi"})
        assert needs_sign_in.status_code == 503, needs_sign_in.text
        assert needs_sign_in.json()["code"] == "unavailable"
        assert int(needs_sign_in.headers["retry-after"]) > 0
        client.cookies.clear()
        signed_out = await client.post(f"/api/v1/probe/{THING}", json={"text": "hi"})
        assert signed_out.status_code == 401  # no cookie: plainly not signed in
