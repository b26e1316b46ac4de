"""Waiting for JetStream at start-up.

A NATS cluster just started (or one that lost a node) answers "JetStream not available", has
no responders or times out until it has a meta leader and enough peers. Every process that
makes a stream or bucket at start goes through `when_ready`, so none of them exits for that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

log = logging.getLogger(__name__)


class StillCreating(Exception):
    """Another process is creating the stream: its name is taken (our create was refused),
    yet the stream is not found. Seen on a cluster just started, while its leaders settle."""


NOT_READY: tuple[type[Exception], ...] = (
    nats.js.errors.ServiceUnavailableError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    StillCreating,
)
PAUSE_S = 0.5

T = TypeVar("T")


async def when_ready(what: str, attempt: Callable[[], Awaitable[T]], wait_s: float) -> T:
    """`await attempt()`, tried again every `PAUSE_S` while JetStream is not ready, for up to
    `wait_s` seconds (then its last error is raised)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await attempt()
        except NOT_READY as exc:
            if time.monotonic() >= deadline:
                raise
            log.info("%s: JetStream not ready (%s); retrying", what, type(exc).__name__)
            await asyncio.sleep(PAUSE_S)


async def config_made_by_another(js: JetStreamContext, stream: str) -> StreamConfig:
    """The config of a stream another process made while we tried to (our create was
    refused); `StillCreating` (retried by `when_ready`) while it cannot be read yet."""
    try:
        return (await js.stream_info(stream)).config
    except nats.js.errors.NotFoundError as exc:
        raise StillCreating(stream) from exc
