"""Request-reply across two processes: replies, error envelopes, timeouts, context headers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from nats.aio.client import Client as NATS

from shared.contracts.common import Principal, RequestContext
from shared.errors import NotFound, ServiceError, Unavailable, ValidationFailed
from shared.messaging import Requester

HERE = Path(__file__).parent


class EchoRequest(msgspec.Struct):
    text: str
    sleep_s: float = 0.0


class Unexpected(msgspec.Struct):
    text: str
    colour: str


class EchoReply(msgspec.Struct):
    text: str
    request_id: str
    traceparent: str | None
    principal: str | None


@pytest.fixture(scope="module")
def echo_process(nats_url: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "echo_service.py"), nats_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def requester(nc: NATS, echo_process: subprocess.Popen[str]) -> Requester:
    return Requester(nc, timeout=2.0)


async def test_reply_carries_context_from_the_other_process(requester: Requester) -> None:
    ctx = RequestContext(
        principal=Principal(subject="resident-1", roles=("resident",)),
        request_id="req-123",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    reply = await requester.call("echo.v1.echo", EchoRequest("hei"), EchoReply, ctx=ctx)
    assert reply.text == "hei"
    assert reply.request_id == "req-123"
    assert reply.principal == "resident-1"
    # same trace, a new span
    assert reply.traceparent is not None
    assert reply.traceparent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert reply.traceparent.split("-")[2] != "b7ad6b7169203331"


async def test_replies_carry_the_request_id_and_trace_context(nc: NATS, echo_process) -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = {"x-request-id": "req-abcdef12", "traceparent": trace}
    ok = await nc.request("echo.v1.echo", b'{"text": "x"}', timeout=2, headers=headers)
    failed = await nc.request("echo.v1.echo", b'{"colour": 1}', timeout=2, headers=headers)
    for reply in (ok, failed):
        assert reply.headers is not None
        assert reply.headers["x-request-id"] == "req-abcdef12"
        assert reply.headers["traceparent"].split("-")[1] == trace.split("-")[1]
    assert "Nats-Service-Error-Code" in (failed.headers or {})


async def test_coded_error_reply_becomes_the_same_error(requester: Requester) -> None:
    with pytest.raises(NotFound) as caught:
        await requester.call("echo.v1.echo", EchoRequest("missing"), EchoReply)
    assert caught.value.details == {"thing": "missing"}
    with pytest.raises(ValidationFailed) as invalid:
        await requester.call("echo.v1.echo", EchoRequest(""), EchoReply)
    assert invalid.value.field == "text"


async def test_bad_request_names_the_field(requester: Requester) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await requester.call("echo.v1.echo", {"text": 5}, EchoReply)
    assert caught.value.field == "text"
    with pytest.raises(ValidationFailed) as unknown:
        await requester.call("echo.v1.echo", Unexpected("x", "red"), EchoReply)
    assert "colour" in unknown.value.message


async def test_crash_replies_internal_without_leaking_details(requester: Requester) -> None:
    with pytest.raises(ServiceError) as caught:
        await requester.call("echo.v1.echo", EchoRequest("crash"), EchoReply)
    assert caught.value.code == "internal"
    assert "secret-internal-detail" not in caught.value.message
    assert "RuntimeError" not in caught.value.message


async def test_timeout_and_no_responders_become_unavailable(requester: Requester) -> None:
    with pytest.raises(Unavailable):
        await requester.call("echo.v1.echo", EchoRequest("slow", 1.0), EchoReply, timeout=0.2)
    with pytest.raises(Unavailable):
        await requester.call("nobody.v1.listens", EchoRequest("x"), EchoReply, timeout=0.5)


async def test_requests_are_handled_concurrently(requester: Requester) -> None:
    # 20 requests of 0.5 s each: served one at a time they would need 10 s.
    replies = await asyncio.gather(
        *(
            requester.call("echo.v1.echo", EchoRequest(f"n{i}", 0.5), EchoReply, timeout=3.0)
            for i in range(20)
        )
    )
    assert sorted(r.text for r in replies) == sorted(f"n{i}" for i in range(20))
