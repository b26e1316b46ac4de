"""The JWKS cache refetches on an unknown key id (rotation) and survives an issuer outage."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.gateway.oidc import JwksCache
from shared.errors import Unauthenticated, Unavailable


def jwk(kid: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return {**jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True), "kid": kid}


async def test_unknown_kid_triggers_refetch_after_rotation() -> None:
    documents = [{"keys": [jwk("old")]}, {"keys": [jwk("new")]}]
    fetches = 0

    async def fetch() -> dict[str, Any]:
        nonlocal fetches
        fetches += 1
        return documents[min(fetches - 1, 1)]

    cache = JwksCache(fetch, ttl=300, min_refresh=0)
    assert await cache.key("old") is not None
    assert await cache.key("old") is not None
    assert fetches == 1
    assert await cache.key("new") is not None
    assert fetches == 2
    with pytest.raises(Unauthenticated):
        await cache.key("never")


async def test_issuer_down_keeps_cached_keys_or_is_unavailable() -> None:
    calls = 0

    async def fetch() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise httpx.ConnectError("down")
        return {"keys": [jwk("a")]}

    cache = JwksCache(fetch, ttl=0, min_refresh=0)
    assert await cache.key("a") is not None
    assert await cache.key("a") is not None  # refresh failed, cached key kept

    async def down() -> dict[str, Any]:
        raise httpx.ConnectError("down")

    with pytest.raises(Unavailable):
        await JwksCache(down).key("a")


class FlakyIssuer:
    """An issuer whose JWKS endpoint can go down; each fetch takes `delay` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.document = {"keys": [jwk("a")]}
        self.up = True
        self.delay = delay
        self.fetches = 0

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        await asyncio.sleep(self.delay)
        if not self.up:
            raise httpx.ConnectTimeout("issuer down")
        return self.document


async def test_issuer_down_after_expiry_is_tried_once_and_stale_keys_serve() -> None:
    issuer = FlakyIssuer(delay=0.2)
    cache = JwksCache(issuer.fetch, ttl=0, min_refresh=0, grace_s=60, retry_s=30)
    await cache.key("a")
    issuer.up = False
    started = time.monotonic()
    keys = await asyncio.gather(*(cache.key("a") for _ in range(20)))
    assert all(k is not None for k in keys)
    assert issuer.fetches == 2  # one failed attempt, not one per request
    assert time.monotonic() - started < 1.0  # not 20 x the issuer's timeout
    for _ in range(5):
        await cache.key("a")
    assert issuer.fetches == 2  # remembered: no new attempt before the retry time


async def test_issuer_down_without_keys_fails_fast_until_the_retry_time() -> None:
    issuer = FlakyIssuer(delay=0.2)
    issuer.up = False
    cache = JwksCache(issuer.fetch, ttl=300, retry_s=0.3)
    with pytest.raises(Unavailable):
        await cache.key("a")
    started = time.monotonic()
    for _ in range(10):
        with pytest.raises(Unavailable):
            await cache.key("a")
    assert time.monotonic() - started < 0.2  # less than one fetch (0.2 s): none was tried
    assert issuer.fetches == 1
    issuer.up = True
    await asyncio.sleep(0.35)
    assert await cache.key("a") is not None  # tried again once the pause is over
    assert issuer.fetches == 2


async def test_stale_keys_beyond_the_grace_period_are_unavailable() -> None:
    issuer = FlakyIssuer()
    cache = JwksCache(issuer.fetch, ttl=0.2, min_refresh=0, grace_s=0.6, retry_s=0.05)
    await cache.key("a")
    issuer.up = False
    await asyncio.sleep(0.3)
    assert await cache.key("a") is not None  # within the grace period
    await asyncio.sleep(0.6)
    with pytest.raises(Unavailable):
        await cache.key("a")


async def test_a_running_refresh_does_not_hold_up_requests_with_a_cached_key() -> None:
    issuer = FlakyIssuer(delay=0.5)
    cache = JwksCache(issuer.fetch, ttl=0, min_refresh=0, grace_s=60)
    issuer.delay = 0
    await cache.key("a")
    issuer.delay = 0.5
    slow = asyncio.create_task(cache.key("a"))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await cache.key("a") is not None
    assert time.monotonic() - started < 0.4  # the refresh takes 0.5 s: it was not waited for
    await slow
