"""The JWKS cache refetches on an unknown key id (rotation) and survives an issuer outage."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.gateway.auth import JwksCache
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
