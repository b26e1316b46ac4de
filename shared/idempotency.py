"""Idempotent commands: the same key with the same body returns the first result.

Use inside the command's transaction:

    async with conn.transaction():
        cached = await idempotency.lookup(conn, scope, key, request)
        if cached is not None:
            return msgspec.json.decode(cached, type=Reply)
        reply = ...  # do the work
        await idempotency.remember(conn, scope, key, request, reply)

The unique key serialises concurrent requests with one key: the second waits for the first
transaction and then sees its result. A key reused with another body is a `Conflict`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import msgspec

from shared.errors import Conflict

_encoder = msgspec.json.Encoder(order="deterministic")


def request_hash(request: Any) -> str:
    """Hash of the request without its idempotency key."""
    data = msgspec.to_builtins(request, order="deterministic")
    if isinstance(data, dict):
        data.pop("idempotency_key", None)
    return hashlib.sha256(_encoder.encode(data)).hexdigest()


async def lookup(
    conn: asyncpg.Connection, scope: str, key: str | None, request: Any
) -> bytes | None:
    """The first reply for (scope, key), or None when the key is new (or no key was given)."""
    if not key:
        return None
    digest = request_hash(request)
    # Take the key first, so that a concurrent request with the same key waits for us.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{scope}|{key}")
    row = await conn.fetchrow(
        "SELECT request_hash, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
        scope,
        key,
    )
    if row is None:
        return None
    if row["request_hash"] != digest:
        raise Conflict(
            "this Idempotency-Key was already used with a different request",
            field="idempotency_key",
        )
    return bytes(row["response"])


async def remember(
    conn: asyncpg.Connection, scope: str, key: str | None, request: Any, reply: Any
) -> None:
    if not key:
        return
    await conn.execute(
        """INSERT INTO idempotency_keys (scope, key, request_hash, response)
           VALUES ($1, $2, $3, $4)""",
        scope,
        key,
        request_hash(request),
        msgspec.json.encode(reply),
    )
