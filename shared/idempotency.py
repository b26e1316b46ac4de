"""Idempotent commands: the same key with the same body, from the same principal, returns the
first result.

Use inside the command's transaction, AFTER checking that the principal may do the operation
on its object (a stored reply is an answer too: one nobody may have anymore is not returned):

    async with conn.transaction():
        thing = await store.get(conn, req.thing_id, lock=True)
        may_change(principal, thing)  # authorisation first
        cached = await idempotency.lookup(conn, "svc.operation", principal, key, request)
        if cached is not None:
            return msgspec.json.decode(cached, type=Reply)
        reply = ...  # do the work
        await idempotency.remember(conn, "svc.operation", principal, key, request, reply)

Stored replies belong to (operation, principal kind and subject, key): another principal
sending the same key and body is a new request of theirs, never given the first one's reply.
The unique key serialises concurrent requests with one key: the second waits for the first
transaction and then sees its result. A key reused with another body is a `Conflict`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import msgspec

from shared.contracts.common import Principal
from shared.errors import Conflict

_encoder = msgspec.json.Encoder(order="deterministic")


def request_hash(request: Any) -> str:
    """Hash of the request without its idempotency key."""
    data = msgspec.to_builtins(request, order="deterministic")
    if isinstance(data, dict):
        data.pop("idempotency_key", None)
    return hashlib.sha256(_encoder.encode(data)).hexdigest()


def scope_of(operation: str, principal: Principal) -> str:
    """Whose stored replies: one operation of one principal (`kind` too: an API key's subject
    could otherwise read like a person's)."""
    return f"{operation}|{principal.kind}:{principal.subject}"


async def lookup(
    conn: asyncpg.Connection,
    operation: str,
    principal: Principal,
    key: str | None,
    request: Any,
) -> bytes | None:
    """The principal's first reply to `operation` with `key`, or None when the key is new
    (or no key was given). Check the principal's authorisation before calling this."""
    if not key:
        return None
    scope = scope_of(operation, principal)
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
    conn: asyncpg.Connection,
    operation: str,
    principal: Principal,
    key: str | None,
    request: Any,
    reply: Any,
) -> None:
    if not key:
        return
    scope = scope_of(operation, principal)
    await conn.execute(
        """INSERT INTO idempotency_keys (scope, key, request_hash, response)
           VALUES ($1, $2, $3, $4)""",
        scope,
        key,
        request_hash(request),
        msgspec.json.encode(reply),
    )
