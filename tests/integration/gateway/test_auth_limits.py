"""Failed credentials are rate-limited: every request counts against its address before its
credentials are checked, and failed ones count again, stricter, per address and per credential
(an API key id, a token's subject), shared by the gateway replicas through the NATS bucket."""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.gateway.conftest import (
    API_KEY,
    FINANCE_KEY,
    GatewayClient,
    gateway_settings,
    make_client,
)

THING = uuid.uuid4()
PROBE = f"/api/v1/probe/{THING}"


def limits(**values: object):
    return gateway_settings(rate_limit_bucket=f"rl_{uuid.uuid4().hex[:8]}", **values)


async def post(client: GatewayClient, headers: dict[str, str]) -> int:
    return (await client.post(PROBE, json={"text": "hi"}, headers=headers)).status_code


def forged_token(client: GatewayClient, subject: str) -> str:
    """A token naming `subject`, signed with a key that is not the issuer's."""
    issuer = client.app.state.dev_issuer
    now = int(time.time())
    claims = {"sub": subject, "iss": issuer.issuer, "aud": issuer.audience}
    return jwt.encode(
        {**claims, "iat": now, "exp": now + 300},
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": issuer.kid},
    )


async def test_a_refused_credential_counts_against_the_address_limit(
    common_settings, probe
) -> None:
    settings = limits(rate_limit_ip_per_minute=5)
    async with make_client(common_settings, settings) as client:
        bad = {"Authorization": "Bearer not-a-token"}
        assert [await post(client, bad) for _ in range(5)] == [401] * 5
        refused = await client.post(PROBE, json={"text": "hi"}, headers=bad)
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1


async def test_failed_credentials_from_one_address_lock_it_out_sooner(
    common_settings, probe
) -> None:
    settings = limits(rate_limit_ip_per_minute=1000, rate_limit_auth_failures_ip_per_minute=3)
    async with (
        make_client(common_settings, settings, "203.0.113.7") as guesser,
        make_client(common_settings, settings, "203.0.113.8") as neighbour,
    ):
        guesses = [await post(guesser, {"X-API-Key": f"erp.guess-{n}"}) for n in range(3)]
        assert guesses == [401, 401, 401]
        # Now even the right key is not checked from that address, for the rest of the minute.
        locked = await guesser.post(PROBE, json={"text": "hi"}, headers={"X-API-Key": API_KEY})
        assert locked.status_code == 429, locked.text
        assert int(locked.headers["retry-after"]) >= 1
        # Another address (another replica, counting in the same bucket) is not affected.
        assert await post(neighbour, {"X-API-Key": API_KEY}) == 201


async def test_failures_for_one_api_key_id_are_counted_across_addresses_and_replicas(
    common_settings, probe
) -> None:
    settings = limits(
        rate_limit_ip_per_minute=1000,
        rate_limit_auth_failures_ip_per_minute=100,
        rate_limit_auth_failures_credential_per_minute=4,
        rate_limit_sync_s=3600,  # folded in by hand below: no timing in the test
    )
    async with (
        make_client(common_settings, settings, "198.51.100.1") as one,
        make_client(common_settings, settings, "198.51.100.2") as two,
    ):
        assert [await post(one, {"X-API-Key": f"erp.guess-{n}"}) for n in range(2)] == [401] * 2
        await (await one.app.state.services.resources()).limiter.sync()
        assert [await post(two, {"X-API-Key": f"erp.try-{n}"}) for n in range(2)] == [401] * 2
        locked = await two.post(PROBE, json={"text": "hi"}, headers={"X-API-Key": API_KEY})
        assert locked.status_code == 429, locked.text
        # Another key, and an id nobody configured (nothing to guess there), are unaffected.
        sap = await two.get(f"/api/v1/probe/{THING}", headers={"X-API-Key": FINANCE_KEY})
        assert sap.status_code == 200, sap.text
        assert await post(two, {"X-API-Key": "nobody.x"}) == 401


async def test_a_token_subject_is_locked_only_by_its_own_genuine_tokens(
    common_settings, probe
) -> None:
    settings = limits(
        rate_limit_ip_per_minute=1000,
        rate_limit_auth_failures_ip_per_minute=100,
        rate_limit_auth_failures_credential_per_minute=2,
    )
    async with make_client(common_settings, settings) as client:
        issuer = client.app.state.dev_issuer
        valid = {"Authorization": f"Bearer {issuer.sign('resident-turku')}"}
        # Forged tokens naming Aino do not lock Aino out: their subject is not hers to claim.
        for _ in range(3):
            forged = forged_token(client, "demo:resident-turku")
            assert await post(client, {"Authorization": f"Bearer {forged}"}) == 401
        assert await post(client, valid) == 201
        # Her own expired tokens replayed do: then her subject waits for the next minute.
        expired = {"Authorization": f"Bearer {issuer.sign('resident-turku', lifetime_s=-120)}"}
        assert [await post(client, expired) for _ in range(2)] == [401, 401]
        assert await post(client, expired) == 429
        fresh = {"Authorization": f"Bearer {issuer.sign('resident-turku', lifetime_s=600)}"}
        assert await post(client, fresh) == 429
        other = {"Authorization": f"Bearer {issuer.sign('resident-kaarina')}"}
        assert await post(client, other) == 201
