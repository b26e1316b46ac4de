"""Waiting for JetStream at start (shared/jetstream.py): a stream another process is still
creating (our create refused, the stream not found yet) is waited for, not an error that ends
the process (seen in `make chaos`: booking-0 exited on "stream not found" at start)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from shared.jetstream import StillCreating, config_made_by_another, when_ready


async def test_a_stream_still_being_made_by_another_is_waited_for(js: JetStreamContext) -> None:
    name = f"T_{uuid.uuid4().hex[:12].upper()}"

    async def made_later() -> None:
        await asyncio.sleep(1.0)
        await js.add_stream(StreamConfig(name=name, subjects=[f"test.{name}"]))

    making = asyncio.create_task(made_later())
    try:
        config = await when_ready("test stream", lambda: config_made_by_another(js, name), 10)
        assert config.name == name
    finally:
        await making
        await js.delete_stream(name)


async def test_a_stream_nobody_makes_ends_the_wait_with_still_creating(
    js: JetStreamContext,
) -> None:
    name = f"T_{uuid.uuid4().hex[:12].upper()}"
    with pytest.raises(StillCreating):
        await when_ready("test stream", lambda: config_made_by_another(js, name), 0.6)
