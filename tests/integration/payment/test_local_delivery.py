"""The local provider posts its signed webhook to the gateway's endpoint over HTTP, and a
webhook for a payment whose provider reference is not stored yet still finds its payment."""

from __future__ import annotations

import asyncio
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

from services.payment.providers.local import SIGNATURE_HEADER, LocalProvider
from services.payment.providers.signing import sign, verify
from services.payment.settings import DEMO_WEBHOOK_SECRET
from shared.contracts.payment import WebhookAck, WebhookRequest
from tests.integration.payment.conftest import Orders, PaymentHarness, resident
from tests.integration.payment.test_payments import start


def capture_server(received: list[tuple[bytes, str]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((body, self.headers[SIGNATURE_HEADER]))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


async def test_local_provider_posts_a_signed_webhook_to_the_gateway(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    received: list[tuple[bytes, str]] = []
    server = capture_server(received)
    try:
        port = server.server_address[1]
        provider = LocalProvider(
            payment.pool,
            secret=DEMO_WEBHOOK_SECRET,
            public_url=None,
            webhook_url=f"http://127.0.0.1:{port}/api/v1/payments/webhooks/local",
        )
        await provider.decide(started.payment_id, "pay")
    finally:
        server.shutdown()
        server.server_close()
    [(body, signature)] = received
    verify(body, signature, DEMO_WEBHOOK_SECRET)
    # What the gateway then does with it:
    req = WebhookRequest(provider="local", body=body.decode(), signature=signature)
    ack = await payment.call("webhook", req, WebhookAck, None)
    assert (ack.outcome, ack.payment_id) == ("succeeded", started.payment_id)


async def test_webhook_finds_the_payment_by_its_echoed_id(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    await payment.pool.execute("UPDATE payment.payments SET provider_ref = NULL")
    body = (
        '{"id":"levt_early","type":"charge.paid","created":0,'
        f'"data":{{"charge":"lch_unknown","payment_id":"{started.payment_id}","fee":0}}}}'
    ).encode()
    req = WebhookRequest(
        provider="local", body=body.decode(), signature=sign(body, DEMO_WEBHOOK_SECRET)
    )
    ack = await payment.call("webhook", req, WebhookAck, None)
    assert ack.outcome == "succeeded"


async def test_webhook_for_a_payment_not_ours_is_acknowledged_and_changes_nothing(
    payment: PaymentHarness,
) -> None:
    """Another application's event (or one without our metadata): 2xx, so that the provider
    does not retry it for days; every payment of ours is committed before its provider hears
    of it, so an unknown one never becomes ours."""
    body = (
        '{"id":"levt_x","type":"charge.paid","created":0,'
        f'"data":{{"charge":"lch_nope","payment_id":"{uuid.uuid4()}"}}}}'
    ).encode()
    req = WebhookRequest(
        provider="local", body=body.decode(), signature=sign(body, DEMO_WEBHOOK_SECRET)
    )
    ack = await payment.call("webhook", req, WebhookAck, None)
    again = await payment.call("webhook", req, WebhookAck, None)
    assert (ack.outcome, ack.payment_id, again.duplicate) == ("not_ours", None, True)
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.payments") == 0
    await asyncio.sleep(0)
