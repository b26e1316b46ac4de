"""A real HTTP receiver of webhooks (aiohttp on a free local port) for the tests: it answers
`fail_first` requests with `fail_status` (or, with `delay_s`, keeps them waiting), then 200,
and records every request as it came."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float


@dataclass
class Receiver:
    fail_first: int = 0
    fail_status: int = 500
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    started: int = 0  # requests that arrived (also ones the sender gave up waiting for)
    in_flight: int = 0  # requests being answered now
    most_in_flight: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/turku"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.answered < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.started += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        status = self.fail_status if len(self.received) < self.fail_first else 200
        self.received.append(Received(dict(request.headers), body, status, time.monotonic()))
        return web.Response(status=status, text="ok" if status == 200 else "not now")

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks/turku", self._handle)
        # A request the sender gave up on (its timeout) ends here too: `in_flight` stays true.
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
