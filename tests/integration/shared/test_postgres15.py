"""The suite on PostgreSQL 15, the oldest version it supports (the other tests use 18).

A throwaway 15 server (Debian's binaries, see tests/pg15.py) gets every service's real
migrations, twice and from two replicas at once; the exclusion constraint that keeps an
exclusive resource from being held twice is checked in SQL and through the real booking service
hosted on 15. Skipped where no PostgreSQL 15 is installed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from services.audit.app import MIGRATIONS as AUDIT_MIGRATIONS
from services.booking import demo
from services.booking.app import MIGRATIONS as BOOKING_MIGRATIONS
from services.booking.app import build as build_booking
from services.booking.settings import BookingSettings
from services.cart.app import MIGRATIONS as CART_MIGRATIONS
from services.payment.app import MIGRATIONS as PAYMENT_MIGRATIONS
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.db import SHARED_SQL, create_pool, migrate, migration_files
from shared.errors import SlotUnavailable
from shared.messaging import Requester
from shared.settings import CommonSettings
from tests import pg15
from tests.conftest import clean_schema
from tests.integration.booking.conftest import RESIDENT, local, next_weekday

SERVICES: dict[str, Path] = {
    "booking": BOOKING_MIGRATIONS,
    "cart": CART_MIGRATIONS,
    "payment": PAYMENT_MIGRATIONS,
    "audit": AUDIT_MIGRATIONS,
}
HALL = demo.RESOURCE_SPORTS_HALL  # capacity 1: exclusive


@pytest.fixture(scope="module")
def pg15_url() -> Iterator[str]:
    reason = pg15.missing()
    if reason:
        pytest.skip(reason)
    server = pg15.start_pg15()
    try:
        yield server.url
    finally:
        server.stop()
    assert server.process.poll() is not None, "PostgreSQL 15 still running"
    assert not server.root.exists(), f"{server.root} left behind"


@pytest.fixture(scope="module")
def common_settings(pg15_url: str, nats_url: str) -> CommonSettings:
    """Overrides the session's settings in this module: `hosted` services run on 15."""
    return CommonSettings(env="test", database_url=pg15_url, nats_url=nats_url)


@pytest.fixture(scope="module")
async def migrated(pg15_url: str) -> dict[str, list[str]]:
    """Each service's migrations applied by two replicas starting at once: {schema: versions}."""
    applied: dict[str, list[str]] = {}
    for schema, directory in SERVICES.items():
        conns = [await asyncpg.connect(pg15_url) for _ in range(2)]
        try:
            runs = await asyncio.gather(*(migrate(conn, schema, [directory]) for conn in conns))
        finally:
            for conn in conns:
                await conn.close()
        applied[schema] = sorted(runs[0] + runs[1])
    return applied


async def test_the_server_is_postgresql_15(pg15_url: str) -> None:
    conn = await asyncpg.connect(pg15_url)
    try:
        version = int(await conn.fetchval("SHOW server_version_num"))
    finally:
        await conn.close()
    assert 150000 <= version < 160000


async def test_every_migration_applies_once_on_15(
    pg15_url: str, migrated: dict[str, list[str]]
) -> None:
    for schema, directory in SERVICES.items():
        expected = sorted(v for v, _ in migration_files([SHARED_SQL, directory]))
        assert migrated[schema] == expected, schema  # each file once, by one of the replicas
        conn = await asyncpg.connect(pg15_url)
        try:
            assert await migrate(conn, schema, [directory]) == [], schema  # second run: nothing
            recorded = await conn.fetchval(
                f'SELECT count(*) FROM "{schema}".schema_migrations'  # noqa: S608 - our schemas
            )
        finally:
            await conn.close()
        assert recorded == len(expected), schema


async def test_the_exclusion_constraint_refuses_an_overlap_on_15(
    pg15_url: str, migrated: dict[str, list[str]]
) -> None:
    pool = await create_pool(pg15_url, "booking", min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await demo.seed(conn)
            day = next_weekday(1)
            insert = """INSERT INTO reservations (id, resource_id, unit_id, customer, state,
                            during, guarded, exclusive, merchant_id)
                        VALUES ($1, $2, $3, 'resident-aino', 'held',
                            tstzrange($4, $5), tstzrange($4, $5), true, 'sports')"""
            unit = demo.UNIT_IMPIVAARA_SPORTS_HALL
            await conn.execute(insert, uuid.uuid4(), HALL, unit, local(day, 10), local(day, 12))
            await conn.execute(insert, uuid.uuid4(), HALL, unit, local(day, 12), local(day, 13))
            with pytest.raises(asyncpg.ExclusionViolationError):
                async with conn.transaction():  # a savepoint: the outer one is rolled back
                    await conn.execute(
                        insert, uuid.uuid4(), HALL, unit, local(day, 11), local(day, 12)
                    )
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await pool.close()


class _Rollback(Exception):
    """Leaves the database as found."""


@pytest.fixture
async def booking_on_15(hosted: Any, migrated: dict[str, list[str]]) -> AsyncIterator[asyncpg.Pool]:
    settings = BookingSettings(demo_data=True, sweep_interval_s=0.2)
    async with hosted(
        "booking", lambda infra: build_booking(infra, settings), BOOKING_MIGRATIONS
    ) as svc:
        pool = svc.infra.pool
        try:
            yield pool
        finally:
            await clean_schema(pool, "booking")


async def test_the_booking_service_on_15_holds_a_slot_once(
    booking_on_15: asyncpg.Pool, nc: NATS
) -> None:
    assert int(await booking_on_15.fetchval("SHOW server_version_num")) < 160000
    requester = Requester(nc, 10.0)
    start = local(next_weekday(1), 12)

    async def hold() -> c.HoldReply:
        request = c.HoldRequest(
            items=[
                c.HoldItem(resource_id=HALL, starts_at=start, ends_at=start + timedelta(hours=1))
            ]
        )
        ctx = RequestContext(principal=RESIDENT, request_id=uuid.uuid4().hex)
        return await requester.call("booking.v1.hold", request, c.HoldReply, ctx=ctx)

    results = await asyncio.gather(*(hold() for _ in range(6)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, c.HoldReply)]
    assert len(winners) == 1, results
    assert all(isinstance(r, SlotUnavailable) for r in results if r not in winners), results
    with pytest.raises(SlotUnavailable):
        await hold()
    held = await booking_on_15.fetchval(
        "SELECT count(*) FROM reservations WHERE resource_id = $1 AND state = 'held'", HALL
    )
    assert held == 1
