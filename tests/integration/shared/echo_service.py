"""A tiny service in its own process for the request-reply tests (`echo_service.py URL`)."""

from __future__ import annotations

import asyncio
import signal
import sys

import msgspec
import nats

from shared.contracts.common import RequestContext
from shared.errors import NotFound, ValidationFailed
from shared.messaging import Operation, serve


class EchoRequest(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    sleep_s: float = 0.0


class EchoReply(msgspec.Struct):
    text: str
    request_id: str
    traceparent: str | None
    principal: str | None


async def echo(req: EchoRequest, ctx: RequestContext) -> EchoReply:
    if req.sleep_s:
        await asyncio.sleep(req.sleep_s)
    if req.text == "missing":
        raise NotFound("no such thing", thing="missing")
    if req.text == "":
        raise ValidationFailed("text must not be empty", field="text")
    if req.text == "crash":
        raise RuntimeError("secret-internal-detail")
    return EchoReply(
        text=req.text,
        request_id=ctx.request_id,
        traceparent=ctx.traceparent,
        principal=ctx.principal.subject if ctx.principal else None,
    )


async def main(url: str) -> None:
    nc = await nats.connect(url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    svc, _ = await serve(
        nc, service="echo", version="1.0.0", operations=[Operation("echo", EchoRequest, echo)]
    )
    print("ready", flush=True)
    await stop.wait()
    await svc.stop()
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
