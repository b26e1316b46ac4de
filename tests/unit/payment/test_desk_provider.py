"""The service desk's provider (issue 19): in the registry beside the configured one, never the
configured one, no webhooks, refunds handed back at once; only staff take desk payments."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.payment.desk import desk_clerk, token_hash
from services.payment.providers.base import Delivery, InvalidSignature
from services.payment.providers.desk import DeskProvider
from services.payment.providers.registry import build_providers
from services.payment.settings import PaymentSettings
from shared.contracts.common import Principal, RequestContext
from shared.errors import Forbidden


def test_the_desk_is_always_there_and_never_the_online_provider() -> None:
    providers = build_providers(PaymentSettings(), None, production=False)  # type: ignore[arg-type]
    assert {"local", "desk"} <= set(providers)  # (the invoice provider too)
    with pytest.raises(ValueError, match="not an online payment provider"):
        build_providers(PaymentSettings(provider="desk"), None, production=False)  # type: ignore[arg-type]


def test_the_desk_sends_no_webhooks_and_refunds_at_once() -> None:
    desk = DeskProvider()
    with pytest.raises(InvalidSignature):
        desk.parse_webhook(Delivery(body=b"{}"))
    first = asyncio.run(desk.refund("desk_x", 500, "refund-1"))
    again = asyncio.run(desk.refund("desk_x", 500, "refund-1"))
    assert first.status == "succeeded"
    assert first.provider_ref == again.provider_ref  # a repeat is the same refund


def test_desk_payments_need_staff_of_every_department_on_the_order() -> None:
    clerk = Principal(subject="demo:clerk-sports", roles=("staff",), departments=("sports",))
    ctx = RequestContext(principal=clerk)
    assert desk_clerk(ctx, {"sports"}) is clerk
    with pytest.raises(Forbidden):
        desk_clerk(ctx, {"sports", "library"})
    resident = RequestContext(principal=Principal(subject="r", roles=("resident",)))
    with pytest.raises(Forbidden):
        desk_clerk(resident)


def test_a_link_token_is_kept_only_as_its_hash() -> None:
    token = uuid.uuid4().hex
    assert token_hash(token) != token.encode()
    assert len(token_hash(token)) == 32
