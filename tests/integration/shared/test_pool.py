"""The services' connection pool against the real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from shared.db import create_pool


async def test_a_released_connection_goes_to_the_oldest_waiter_not_a_newcomer(
    database_url: str,
) -> None:
    pool = await create_pool(database_url, "public", min_size=1, max_size=1)
    first: list[str] = []

    async def use(name: str) -> None:
        async with pool.acquire() as conn:
            first.append(name)
            await conn.fetchval("SELECT 1")

    try:
        for _ in range(10):
            first.clear()
            held = await pool.acquire()
            waiter = asyncio.create_task(use("waiter"))
            await asyncio.sleep(0.05)  # the waiter is in line
            releasing = asyncio.ensure_future(pool.release(held))
            newcomers = []
            for n in range(20):  # one asks at each turn of the loop while it is given back
                newcomers.append(asyncio.create_task(use(f"newcomer {n}")))
                await asyncio.sleep(0)
            await asyncio.wait_for(asyncio.gather(releasing, waiter, *newcomers), 10)
            assert first[0] == "waiter"
            assert len(first) == 21
    finally:
        await pool.close()


async def test_acquire_times_out_while_waiting_for_a_turn(database_url: str) -> None:
    pool = await create_pool(database_url, "public", min_size=1, max_size=1)
    try:
        async with pool.acquire():
            with pytest.raises(TimeoutError):
                await pool.acquire(timeout=0.1)
        assert await pool.fetchval("SELECT 2") == 2  # the timed-out turn was given back
    finally:
        await pool.close()
