"""A service-desk customer's mails (issue 19), end to end: a clerk makes a desk customer with
an e-mail address, holds a time for them, checks it out and takes the payment at the desk (the
gateway's API, the real booking, cart and payment): the confirmation and notify's order-paid
mail, the receipt, reach the real SMTP server once each; the clerk cancels it for them and the
cancellation and the refund are mailed too. A desk customer with no address gets none, and
staff see why."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from services.notify.desk_contacts import DESK_CUSTOMER
from services.notify.render import DESK_NOTE
from services.notify.texts import Language, load
from shared.contracts import notify as n
from shared.contracts.common import Principal, RequestContext, system_principal
from shared.contracts.desk import DeskCustomer, DeskCustomerRequest
from shared.errors import Forbidden, NotFound
from shared.messaging import Requester
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings, make_client
from tests.integration.gateway.services import real_services
from tests.integration.gateway.test_booking_routes import free_slot
from tests.integration.notify.conftest import (
    durables_made,
    eventually,
    fast_settings,
    forget_notify_durables,
)
from tests.integration.notify.smtp import SmtpServer

pytestmark = pytest.mark.timeout(180)
ADMIN = Principal(subject="admin-anna", roles=("admin",))


async def desk_sale(client: GatewayClient, clerk: dict[str, str], customer: dict[str, Any]) -> Any:
    """The desk customer made, a time held for them, checked out and paid in cash: the
    customer, the order and the reservation."""

    async def post(path: str, body: dict[str, Any]) -> Any:
        response = await client.post(
            path, json=body, headers={**clerk, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert response.status_code < 300, response.text
        return response.json()

    made = await post("/api/v1/desk/customers", customer)
    resource_id, slot = await free_slot(client)
    item = {"resource_id": resource_id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
    held = await post("/api/v1/desk/holds", {"customer": made["customer"], "items": [item]})
    reservation_id = held["reservations"][0]["reservation_id"]
    await post(
        "/api/v1/desk/cart-reservations",
        {"customer": made["customer"], "reservation_id": reservation_id},
    )
    order = await post("/api/v1/desk/orders", {"customer": made["customer"]})
    await post(
        f"/api/v1/desk/orders/{order['order_id']}/payments",
        {"register_id": "KASSA-7", "method": "cash"},
    )
    return made["customer"], order, reservation_id


async def messages(requester: Requester, customer: str) -> list[n.MessageView]:
    ctx = RequestContext(principal=ADMIN, request_id=uuid.uuid4().hex)
    reply = await requester.call(
        "notify.v1.customer_messages", n.CustomerMessagesRequest(customer=customer),
        n.MessageList, ctx=ctx,
    )  # fmt: skip
    return list(reply.messages)


async def test_a_desk_paid_order_mails_its_receipt_once(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path, nc: NATS, smtp: SmtpServer
) -> None:
    await forget_notify_durables(nc)
    async with (
        real_services(hosted, tmp_path, notify_settings=fast_settings(smtp)) as running,
        make_client(common_settings, gateway_settings()) as client,
    ):
        await durables_made(nc, [c.durable for c in running["notify"].definition.consumers])
        requester = Requester(nc, 10.0)
        clerk = await bearer(client, "clerk-sports")
        to = f"aune-{uuid.uuid4().hex[:6]}@example.fi"
        made = await desk_sale(client, clerk, {"name": "Aune Asiakas", "email": to})
        customer, order, reservation_id = made
        assert customer.startswith("desk:")
        assert order["total_cents"] > 0

        def subjects() -> list[str]:
            return sorted(str(m["Subject"]) for m in smtp.catcher.to(to))

        receipt = f"Maksu vastaanotettu: tilaus {order['order_number']}"
        await eventually(lambda: len(subjects()) == 2, timeout=30)
        assert receipt in subjects()
        [mail] = [m for m in smtp.catcher.to(to) if m["Subject"] == receipt]
        [confirmed] = [m for m in smtp.catcher.to(to) if m["Subject"] != receipt]
        assert any(p.get_content_type() == "text/calendar" for p in confirmed.walk())
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        text = str(body.get_content())
        fi = Language("fi", load()["fi"], "Europe/Helsinki")
        assert f"Yhteensä: {fi.money(order['total_cents'])}" in text

        async def sent() -> bool:
            found = await messages(requester, customer)
            return [m.state for m in found if m.kind == "order_paid"] == ["sent"]

        await eventually(sent)
        await asyncio.sleep(1.0)  # and nothing more comes
        assert len(smtp.catcher.to(to)) == 2

        # The clerk cancels it for them (by their policy, two days ahead: money back): the
        # cancellation and the refund are mailed to the desk customer too.
        cancelled = await client.post(
            f"/api/v1/desk/reservations/{reservation_id}/cancellation",
            json={"reason": "Asiakas soitti"},
            headers={**clerk, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert cancelled.status_code == 201, cancelled.text
        assert cancelled.json()["refund_cents"] > 0

        async def told() -> bool:
            found = await messages(requester, customer)
            kinds = {m.kind: m.state for m in found}
            return (
                kinds.get("reservation_cancelled") == "sent"
                and kinds.get("refund_succeeded") == "sent"
            )

        await eventually(told, timeout=30)
        assert len(smtp.catcher.to(to)) == 4
        # They have no account: no mail links to a page behind a sign-in ("my bookings", the
        # order's page); each says where to turn instead, in their language.
        desk_note = fi.gettext(DESK_NOTE)
        assert desk_note.startswith("Muutoksista")
        for each in smtp.catcher.to(to):
            plain, html = each.get_body(("plain",)), each.get_body(("html",))
            assert plain is not None
            assert html is not None
            for part in (str(plain.get_content()), str(html.get_content())):
                assert "/reservations" not in part, each["Subject"]
                assert "/orders/" not in part, each["Subject"]
            assert desk_note in str(plain.get_content()), each["Subject"]

        # A Swedish-speaking customer: the clerk chose their language; the mails are in it.
        sv_to = f"sigrid-{uuid.uuid4().hex[:6]}@example.fi"
        details = {"name": "Sigrid Kund", "email": sv_to, "language": "sv"}
        _, sv_order, _ = await desk_sale(client, clerk, details)
        sv = Language("sv", load()["sv"], "Europe/Helsinki")
        sv_receipt = sv.gettext("Payment received: order {order}").format(
            order=sv_order["order_number"]
        )
        assert sv_receipt.startswith("Betalningen mottagen")
        await eventually(lambda: len(smtp.catcher.to(sv_to)) == 2, timeout=30)
        [sv_mail] = [m for m in smtp.catcher.to(sv_to) if m["Subject"] == sv_receipt]
        # The receipt's line in Swedish too: the place by its Swedish names (cart's order
        # details), the time as Swedish writes it; not the Finnish description it was sold as.
        [line] = sv_order["lines"]
        details = line["details"]
        sv_body = sv_mail.get_body(preferencelist=("plain",))
        assert sv_body is not None
        sv_text = str(sv_body.get_content())
        place = f"{details['resource_name']['sv']}, {details['unit_name']['sv']}"
        assert details["resource_name"]["sv"] != details["resource_name"]["fi"]
        assert place in sv_text, sv_text
        assert line["line"]["description"] not in sv_text
        assert sv.gettext(DESK_NOTE).startswith("Ändringar")
        assert sv.gettext(DESK_NOTE) in sv_text

        # A customer reached by phone only: no receipt mail, and staff see why.
        phoned, _, _ = await desk_sale(
            client, clerk, {"name": "Paavo Puhelin", "phone": "0401234567"}
        )

        async def skipped() -> bool:
            found = await messages(requester, phoned)
            paid = [(m.state, m.last_error) for m in found if m.kind == "order_paid"]
            return paid == [("skipped", "no e-mail address")]

        await eventually(skipped, timeout=30)

        # Cart tells a desk customer's address to notify only.
        ask = DeskCustomerRequest(customer=customer)
        for who in (Principal(subject="clerk", roles=("staff",)), system_principal("payment")):
            ctx = RequestContext(principal=who, request_id=uuid.uuid4().hex)
            with pytest.raises(Forbidden):
                await requester.call(DESK_CUSTOMER, ask, DeskCustomer, ctx=ctx)
        ctx = RequestContext(principal=system_principal("notify"), request_id=uuid.uuid4().hex)
        nobody = DeskCustomerRequest(customer=f"desk:{uuid.uuid4()}")
        with pytest.raises(NotFound):
            await requester.call(DESK_CUSTOMER, nobody, DeskCustomer, ctx=ctx)
