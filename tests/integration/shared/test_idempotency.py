"""Idempotent commands: same key and body -> first result; other body -> conflict."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest
from nats.js import JetStreamContext

from shared import idempotency
from shared.contracts.common import Principal
from shared.db import create_pool, migrate
from shared.errors import Conflict
from shared.events import STREAM, ensure_stream


class Hold(msgspec.Struct):
    resource: str
    idempotency_key: str | None = None


class Held(msgspec.Struct):
    hold_id: str


AINO = Principal(subject="resident-1", roles=("resident",))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    schema = f"i_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(database_url)
    await migrate(conn, schema)
    await conn.close()
    pool = await create_pool(database_url, schema, min_size=1, max_size=8)
    yield pool
    await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await pool.close()


async def _hold(pool: asyncpg.Pool, request: Hold, made: list[str]) -> Held:
    async with pool.acquire() as conn, conn.transaction():
        cached = await idempotency.lookup(conn, "hold", AINO, request.idempotency_key, request)
        if cached is not None:
            return msgspec.json.decode(cached, type=Held)
        await asyncio.sleep(0.05)  # the work
        reply = Held(hold_id=uuid.uuid4().hex)
        made.append(reply.hold_id)
        await idempotency.remember(conn, "hold", AINO, request.idempotency_key, request, reply)
        return reply


async def test_same_key_same_body_returns_the_first_result(pool: asyncpg.Pool) -> None:
    made: list[str] = []
    request = Hold(resource="hall", idempotency_key="k1")
    replies = await asyncio.gather(*(_hold(pool, request, made) for _ in range(5)))
    assert len(made) == 1
    assert {r.hold_id for r in replies} == {made[0]}


async def test_same_key_other_body_is_a_conflict(pool: asyncpg.Pool) -> None:
    made: list[str] = []
    await _hold(pool, Hold(resource="hall", idempotency_key="k2"), made)
    with pytest.raises(Conflict) as caught:
        await _hold(pool, Hold(resource="lane", idempotency_key="k2"), made)
    assert caught.value.field == "idempotency_key"
    assert len(made) == 1


async def test_without_a_key_every_request_counts(pool: asyncpg.Pool) -> None:
    made: list[str] = []
    await _hold(pool, Hold(resource="hall"), made)
    await _hold(pool, Hold(resource="hall"), made)
    assert len(made) == 2


async def test_a_stored_reply_belongs_to_its_principal_and_operation(pool: asyncpg.Pool) -> None:
    request = Hold(resource="hall", idempotency_key="k3")
    reply = Held(hold_id="first")
    mikko = Principal(subject="resident-2", roles=("resident",))
    same_subject_key = Principal(subject="resident-1", kind="api_key", scopes=("finance",))
    async with pool.acquire() as conn, conn.transaction():
        await idempotency.remember(conn, "hold", AINO, "k3", request, reply)
        assert await idempotency.lookup(conn, "hold", AINO, "k3", request) is not None
        for who, operation in (
            (mikko, "hold"),
            (same_subject_key, "hold"),
            (AINO, "release"),
        ):
            assert await idempotency.lookup(conn, operation, who, "k3", request) is None
        # Another principal may use the same key for a request of their own.
        await idempotency.remember(conn, "hold", mikko, "k3", request, Held(hold_id="mikko"))


async def test_stream_setup_is_idempotent(js: JetStreamContext) -> None:
    await ensure_stream(js)
    await ensure_stream(js)
    info = await js.stream_info(STREAM)
    assert info.config.subjects == ["evt.>"]
    assert info.config.duplicate_window >= 120


async def test_stream_setup_keeps_what_an_operator_changed(js: JetStreamContext) -> None:
    await ensure_stream(js)
    info = await js.stream_info(STREAM)
    longer = dataclasses.replace(info.config, max_age=info.config.max_age + 3600)
    await js.update_stream(longer)
    try:
        await ensure_stream(js, replicas=1)
        assert (await js.stream_info(STREAM)).config.max_age == longer.max_age
    finally:
        await js.update_stream(info.config)
