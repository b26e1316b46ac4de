"""`shared.runtime.every`: the one periodic background loop of every service (and the
gateway's rate-limit sync)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.runtime import every


class Away(Exception):
    """A failure the caller names as transient (e.g. NATS away for a while)."""


async def test_a_failed_round_is_logged_and_the_loop_goes_on_until_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    rounds: list[int] = []
    failures = [Away("gone"), ConnectionRefusedError(), RuntimeError("a bug")]

    async def work() -> None:
        rounds.append(len(rounds))
        if failures:
            raise failures.pop(0)
        stop.set()

    caplog.set_level(logging.WARNING, logger="shared.runtime")
    await asyncio.wait_for(every(0, work, name="probe", transient=(Away,))(stop), timeout=5)

    assert len(rounds) == 4  # three failed rounds, then the one that stopped it
    logged = [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert logged == [
        (logging.WARNING, "probe: Away; retrying", False),
        (logging.WARNING, "probe: ConnectionRefusedError; retrying", False),
        (logging.ERROR, "probe failed; retrying", True),  # not named transient: with its trace
    ]


async def test_the_loop_waits_its_interval_between_rounds_and_stops_at_once() -> None:
    stop = asyncio.Event()
    rounds = 0

    async def work() -> None:
        nonlocal rounds
        rounds += 1

    task = asyncio.create_task(every(3600, work)(stop))
    await asyncio.sleep(0.05)
    assert rounds == 1  # the first round at once, the next one an hour later
    stop.set()
    await asyncio.wait_for(task, timeout=1)
    assert rounds == 1
