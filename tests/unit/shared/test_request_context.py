"""The request context travels in NATS headers: the caller's address arrives as sent."""

from __future__ import annotations

from shared.contracts.common import Principal, RequestContext
from shared.messaging import context_from_headers, context_headers


def test_the_client_address_travels_with_the_request() -> None:
    sent = RequestContext(
        principal=Principal(subject="resident-1", roles=("resident",)),
        request_id="r1",
        client_address="203.0.113.7",
    )
    received = context_from_headers(context_headers(sent))
    assert received.client_address == "203.0.113.7"
    assert received.principal == sent.principal
    assert context_from_headers(context_headers(RequestContext())).client_address is None
