"""The local provider redelivers a webhook that was not acknowledged, as Stripe and Paytrail
do: the charge is recorded, the resident is not told "conflict", and the payment succeeds once
the endpoint (here a real HTTP server that answers 503 a few times, as the gateway does while
NATS reconnects) takes it. A refusal (4xx) is given up at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.payment.providers.local import SIGNATURE_HEADER, LocalProvider
from services.payment.providers.local_delivery import outcome_of
from services.payment.settings import PaymentSettings
from shared.contracts.payment import (
    GetPaymentRequest,
    LocalDecideRequest,
    PaymentView,
    WebhookAck,
    WebhookRequest,
)
from shared.errors import ServiceError
from tests.integration.payment.conftest import Orders, PaymentHarness, resident
from tests.integration.payment.test_payments import start


class WebhookEndpoint:
    """A real HTTP endpoint on 127.0.0.1 in the test's loop: answers the statuses in
    `answers` first, then passes each webhook on to the payment service as the gateway does
    (`payment.v1.webhook`) and answers with what that gave."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.seen: list[int] = []
        self.payment: PaymentHarness | None = None
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/v1/payments/webhooks/local"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in head[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self.answers.pop(0) if self.answers else await self.forward(body, headers)
        self.seen.append(status)
        writer.write(
            f"HTTP/1.1 {status} -\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    async def forward(self, body: bytes, headers: dict[str, str]) -> int:
        assert self.payment is not None
        request = WebhookRequest(
            provider="local", body=body.decode(), signature=headers[SIGNATURE_HEADER.lower()]
        )
        try:
            await self.payment.call("webhook", request, WebhookAck, None)
        except ServiceError as exc:
            return exc.status
        return 200


@pytest.fixture
async def endpoint() -> AsyncIterator[WebhookEndpoint]:
    found = WebhookEndpoint()
    found.server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    try:
        yield found
    finally:
        found.server.close()
        with contextlib.suppress(Exception):
            await found.server.wait_closed()


@pytest.fixture
def payment_settings(endpoint: WebhookEndpoint) -> PaymentSettings:
    return PaymentSettings(
        sweep_interval_s=3600,  # no expiry sweep: only redelivery makes the payment succeed
        local_payout_delay_days=0,
        webhook_url=endpoint.url,
        local_webhook_backoff_s=0.1,
        local_webhook_max_backoff_s=0.4,
    )


def local_of(payment: PaymentHarness) -> LocalProvider:
    return payment.svc.local


async def delivery_of(payment: PaymentHarness) -> Any:
    return await payment.pool.fetchrow(
        "SELECT * FROM payment.local_webhook_deliveries ORDER BY created_at DESC LIMIT 1"
    )


def test_what_an_endpoints_answer_means() -> None:
    assert [outcome_of(s) for s in (200, 204, 299)] == ["delivered"] * 3
    assert [outcome_of(s) for s in (500, 502, 503, 504, 408, 425, 429, None)] == ["retry"] * 8
    assert [outcome_of(s) for s in (400, 401, 403, 404, 409, 410, 422)] == ["refused"] * 7


async def test_a_webhook_answered_503_is_delivered_again_until_taken_and_the_order_is_paid(
    payment: PaymentHarness, orders: Orders, endpoint: WebhookEndpoint
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    endpoint.payment = payment
    endpoint.answers = [503, 503, 503]  # the gateway while NATS reconnects

    decided = await payment.call(
        "local_decide",
        LocalDecideRequest(payment_id=started.payment_id, decision="pay"),
        PaymentView,
        me,
    )  # no conflict: the charge is recorded, its webhook is on its way

    assert decided.state == "pending"

    async def paid() -> bool:
        view = await payment.call(
            "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, me
        )
        return view.state == "succeeded"

    await payment.eventually(paid)

    async def delivered() -> bool:  # the answer is recorded after the endpoint has acted on it
        return (await delivery_of(payment))["state"] == "delivered"

    await payment.eventually(delivered)
    assert endpoint.seen == [503, 503, 503, 200]
    row = await delivery_of(payment)
    assert (row["state"], row["attempts"], row["last_status"]) == ("delivered", 4, 200)
    await orders.state(me, order.order_id, "paid", "fulfilled")
    assert await local_of(payment).redeliver_due() == 0  # acknowledged: never sent again
    assert endpoint.seen == [503, 503, 503, 200]


async def test_a_webhook_refused_with_a_4xx_is_given_up_at_once(
    payment: PaymentHarness, orders: Orders, endpoint: WebhookEndpoint
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    endpoint.answers = [400]

    await payment.call(
        "local_decide",
        LocalDecideRequest(payment_id=started.payment_id, decision="pay"),
        PaymentView,
        me,
    )

    async def finished() -> bool:  # the first attempt may be the background loop's
        return (await delivery_of(payment))["state"] != "pending"

    await payment.eventually(finished)
    row = await delivery_of(payment)
    assert (row["state"], row["attempts"], row["last_status"]) == ("given_up", 1, 400)
    await asyncio.sleep(0.5)  # several redelivery rounds of the background loop
    assert await local_of(payment).redeliver_due() == 0
    assert endpoint.seen == [400]


async def test_an_endpoint_that_cannot_be_reached_is_tried_again(
    payment: PaymentHarness, orders: Orders, endpoint: WebhookEndpoint
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    endpoint.payment = payment
    assert endpoint.server is not None
    endpoint.server.close()  # nobody listens: connection refused
    await endpoint.server.wait_closed()

    await payment.call(
        "local_decide",
        LocalDecideRequest(payment_id=started.payment_id, decision="pay"),
        PaymentView,
        me,
    )

    async def tried_again() -> bool:
        row = await delivery_of(payment)
        return row["attempts"] >= 2

    await payment.eventually(tried_again)
    row = await delivery_of(payment)
    assert (row["state"], row["last_status"]) == ("pending", None)
    assert endpoint.seen == []
