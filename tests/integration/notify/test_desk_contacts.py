"""Notify asks cart for a service-desk customer's address before a batch's transaction opens
(`DeskContacts.prepare`, `Consumer.prepare`): the handlers inside the transaction use the
batch's answers and make no call; a cart that did not answer makes the event fail at once
(to be delivered again), not after a wait with the transaction open."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from services.cart.app import MIGRATIONS as CART_MIGRATIONS
from services.cart.app import build as build_cart
from services.cart.library.koha import KohaLibrary
from services.notify.desk_contacts import DeskContacts
from shared.contracts import booking as b
from shared.contracts import desk as d
from shared.contracts.common import Principal, RequestContext
from shared.errors import Unavailable
from shared.messaging import Requester
from tests.conftest import clean_schema
from tests.integration.cart.conftest import cart_settings
from tests.standins.koha import KohaStandIn, KohaState

CLERK = Principal(subject="clerk-sports", roles=("staff",), departments=("sports",))


def confirmed(customer: str) -> b.ReservationConfirmed:
    starts = datetime.now(UTC) + timedelta(days=3)
    return b.ReservationConfirmed(
        reservation_id=uuid.uuid4(), resource_id=uuid.uuid4(), unit_id=uuid.uuid4(),
        customer=customer, state="confirmed", starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )  # fmt: skip


async def test_the_batch_asks_cart_first_and_the_handlers_make_no_call(
    hosted: Any, tmp_path: Path, nc: NATS
) -> None:
    requester = Requester(nc, 2.0)
    desk = DeskContacts(requester)
    resident = "demo:resident-turku"
    with KohaStandIn(KohaState()) as koha:
        settings = cart_settings(tmp_path, koha)
        library = KohaLibrary(koha.url, "cart-client", "cart-secret", timeout_s=2.0)
        async with hosted(
            "cart", lambda infra: build_cart(infra, settings, library), CART_MIGRATIONS
        ) as cart:
            made = await requester.call(
                "cart.v1.desk_customer_create",
                d.DeskCustomerCreate(name="Saga Svensson", email="saga@example.fi", language="sv"),
                d.DeskCustomer,
                ctx=RequestContext(principal=CLERK, request_id=uuid.uuid4().hex),
            )
            unknown = f"desk:{uuid.uuid4()}"
            await desk.prepare([confirmed(made.customer), confirmed(unknown), confirmed(resident)])
            await clean_schema(cart.infra.pool, "cart")
        # Cart is gone: the batch's answers are what the handlers get, at once.
        started = time.perf_counter()
        found = await desk(made.customer)
        assert found is not None
        assert (found.email, found.locale) == ("saga@example.fi", "sv")
        assert await desk(unknown) is None  # cart knows no such customer
        assert await desk(resident) is None  # not a desk customer: never asked
        assert time.perf_counter() - started < 0.1

    # The next batch, cart not answering: the preparation records it; the handler's lookup
    # fails at once (the event is delivered again later), without waiting inside it.
    other = f"desk:{uuid.uuid4()}"
    await desk.prepare([confirmed(made.customer), confirmed(other)])
    started = time.perf_counter()
    for customer in (made.customer, other):  # (cart asked once: the rest not waited for)
        with pytest.raises(Unavailable):
            await desk(customer)
    assert time.perf_counter() - started < 0.1
