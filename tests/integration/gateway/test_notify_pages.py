"""The staff pages of notifications (issue 18) over plain HTTP, with the real booking, cart,
payment, notify and audit services behind the gateway: a clerk finds a customer and sees what
was sent to them (sent, failed for good with the reason, waiting for a retry), in fi/sv/en, and
the view is in the audit trail; another department's clerk sees none of it; residents are kept
out; a department's clerk subscribes a system (the secret shown once), reads the delivery log,
replays a delivery after confirming (a pending one is refused on the form), and stops the
subscription after confirming; bad input comes back on the form, naming the field, input kept."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import asyncpg
import pytest

from services.notify.webhooks import on_event
from shared.contracts import booking as b
from shared.settings import CommonSettings
from tests.integration.audit.conftest import Audit, hosted_audit, patient_client
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import real_services
from tests.integration.notify.test_webhooks import CONFIRMED, reservation_event

pytestmark = pytest.mark.timeout(120)
PHONE = "+358 40 555 0101"
HOOK = "https://hooks.example.fi/turku/access"


@dataclass
class Suite:
    client: GatewayClient
    db: asyncpg.Connection  # the notify schema, for the test's own messages and events
    audit: Audit


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[Suite]:
    async with (
        hosted_audit(hosted, common_settings) as audit,
        real_services(hosted, tmp_path),
        patient_client(common_settings, tmp_path) as client,
    ):
        db = await asyncpg.connect(
            common_settings.database_url, server_settings={"search_path": "notify,public"}
        )
        try:
            yield Suite(client, db, audit)
        finally:
            await db.close()


async def sign_in(client: GatewayClient, user: str) -> None:
    client.cookies.clear()
    signed_in = await client.post("/dev-issuer/sign-in", data={"user": user, "next": "/staff"})
    assert signed_in.status_code == 303, signed_in.text


async def phone_customer(client: GatewayClient) -> str:
    clerk = await bearer(client, "clerk-sports")
    made = await client.post(
        "/api/v1/desk/customers",
        json={"name": "Pertti Puhelin", "phone": PHONE},
        headers={**clerk, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["customer"])


async def message(
    db: asyncpg.Connection, customer: str, kind: str, state: str, *, attempts: int = 1,
    error: str | None = None, merchant: str = "sports", channel: str = "email", age_min: int = 0,
) -> uuid.UUID:  # fmt: skip
    """A message as the notification service records one (its own table)."""
    message_id = uuid.uuid4()
    created = datetime.now(UTC) - timedelta(minutes=age_min)
    await db.execute(
        """INSERT INTO messages (id, event_id, customer, channel, kind, merchant_id, locale,
                                 address, data, state, attempts, last_error, created_at, sent_at,
                                 next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'fi', $7, '{}', $8, $9, $10, $11, $12,
                   now() + interval '1 hour')""",
        message_id, uuid.uuid4(), customer, channel, kind, merchant,
        "pertti@example.fi" if channel == "email" else PHONE, state, attempts, error, created,
        created if state == "sent" else None,
    )  # fmt: skip
    return message_id


async def test_a_clerk_finds_a_customer_and_sees_what_was_sent_and_the_view_is_audited(
    suite: Suite,
) -> None:
    client = suite.client
    customer = await phone_customer(client)
    sent = await message(suite.db, customer, "reservation_confirmed", "sent", age_min=30)
    failed = await message(
        suite.db, customer, "order_paid", "failed", error="550 5.1.1 mailbox unavailable",
        age_min=20,
    )  # fmt: skip
    waiting = await message(
        suite.db, customer, "reminder", "pending", attempts=2, error="SMTP server down",
        channel="sms", age_min=10,
    )  # fmt: skip
    theirs = await message(suite.db, customer, "library_payment_registered", "sent",
                           merchant="library")  # fmt: skip

    await sign_in(client, "clerk-sports")
    console = await client.get("/staff", params={"lang": "en"})
    assert 'href="/staff/messages"' in console.text
    assert 'href="/staff/webhooks"' in console.text
    found = await client.get("/staff/messages", params={"q": PHONE, "lang": "en"})
    assert found.status_code == 200, found.text
    assert f'data-customer="{customer}"' in found.text
    link = found.text.split(f'<tr data-customer="{customer}">', 1)[1].split('href="', 1)[1]
    link = unquote(link.split('"', 1)[0].replace("&amp;", "&"))
    assert link.startswith("/staff/messages?customer=")

    shown = await client.get(f"{link}&lang=en")
    assert shown.status_code == 200, shown.text
    text = shown.text
    # newest first; the department's own messages only
    assert text.index(str(waiting)) < text.index(str(failed)) < text.index(str(sent))
    assert str(theirs) not in text
    assert f'data-message="{sent}" data-status="sent"' in text
    assert f'data-message="{failed}" data-status="failed"' in text
    assert f'data-message="{waiting}" data-status="retrying"' in text
    assert "Failed permanently" in text
    assert "550 5.1.1 mailbox unavailable" in text
    assert "Waiting for retry" in text
    assert "Text message" in text
    assert "Booking confirmation" in text
    assert "Receipt" in text
    desk = await client.get(f"/staff/desk?customer={customer}&lang=en")  # from the desk too
    assert 'class="customer-messages">Messages sent to this customer</a>' in desk.text
    fi = await client.get(f"{link}&lang=fi")
    assert "Epäonnistui pysyvästi" in fi.text
    assert "Odottaa uutta yritystä" in fi.text
    sv = await client.get(f"{link}&lang=sv")
    assert "Misslyckades permanent" in sv.text
    assert "Väntar på nytt försök" in sv.text

    admin = await bearer(client, "admin")

    async def viewed() -> list[dict[str, Any]]:  # the admin finds the view by the customer
        found = await client.get(
            "/api/v1/audit/entries",
            params={"person": customer, "action": "notify.v1.customer_messages"},
            headers=admin,
        )
        assert found.status_code == 200, found.text
        return [e for e in found.json()["entries"] if e["kind"] == "view"]

    entries = await suite.audit.eventually(viewed)
    assert entries[0]["actor"] == "demo:clerk-sports"

    await sign_in(client, "clerk-library")
    library = await client.get(f"{link}&lang=en")
    assert library.status_code == 200
    assert str(theirs) in library.text
    assert str(sent) not in library.text

    await sign_in(client, "admin")  # an admin: every department's
    everything = await client.get(f"{link}&lang=en")
    assert str(theirs) in everything.text
    assert str(sent) in everything.text

    await sign_in(client, "resident-turku")
    refused = await client.get(link, headers={"accept": "text/html"})
    assert refused.status_code == 403


async def test_a_bad_search_is_shown_on_the_form_with_the_input_kept(suite: Suite) -> None:
    await sign_in(suite.client, "clerk-sports")
    page = await suite.client.get("/staff/messages", params={"q": "x", "lang": "en"})
    assert page.status_code == 422, page.text
    assert 'data-field="q"' in page.text  # the error summary names the field
    assert 'id="error-q"' in page.text  # and the message sits beside it
    assert 'value="x"' in page.text  # the input kept


async def test_a_clerk_subscribes_reads_the_log_replays_and_stops_after_confirming(
    suite: Suite,
) -> None:
    client = suite.client
    await sign_in(client, "clerk-sports")
    listed = await client.get("/staff/webhooks", params={"lang": "en"})
    assert listed.status_code == 200, listed.text
    assert '<option value="sports"' in listed.text
    assert '<option value="library"' not in listed.text  # only the clerk's own department

    # an http address to a private host: back on the form, naming the field, input kept
    bad = {"merchant_id": "sports", "url": "http://10.0.0.5/hook", "event_types": [CONFIRMED],
           "key": uuid.uuid4().hex, "return_to": "/staff/webhooks"}  # fmt: skip
    refused = await client.post("/staff/webhooks", data=bad)
    assert refused.status_code == 303
    assert refused.headers["location"] == "/staff/webhooks"
    again = await client.get("/staff/webhooks", params={"lang": "en"})
    assert 'data-field="url"' in again.text
    assert 'id="error-url"' in again.text
    assert 'value="http://10.0.0.5/hook"' in again.text
    assert f'value="{CONFIRMED}" checked' in again.text
    none = {**bad, "url": HOOK, "event_types": []}
    await client.post("/staff/webhooks", data=none)
    nothing_chosen = await client.get("/staff/webhooks", params={"lang": "en"})
    assert 'data-field="event_types"' in nothing_chosen.text
    assert "Choose at least one event." in nothing_chosen.text

    form = {**bad, "url": HOOK}
    created = await client.post("/staff/webhooks", data=form)
    assert created.status_code == 200, created.text
    assert created.headers["cache-control"] == "no-store"
    secret = created.text.split('id="secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("whsec_")
    sid = created.text.split('data-subscription="', 1)[1].split('"', 1)[0]
    listed = await client.get("/staff/webhooks", params={"lang": "en"})
    assert f'data-subscription="{sid}" data-active="yes"' in listed.text
    assert secret not in listed.text  # shown that once only

    async with suite.db.transaction():
        await on_event(suite.db, reservation_event(b.ReservationConfirmed, uuid.uuid4(), "sports"))
    log = await client.get(f"/staff/webhooks/{sid}", params={"lang": "en"})
    assert log.status_code == 200, log.text
    delivery = log.text.split('data-delivery="', 1)[1].split('"', 1)[0]
    assert f'<code lang="en">{CONFIRMED}</code>' in log.text

    replay = f"/staff/webhooks/{sid}/deliveries/{delivery}/replay"
    confirm = await client.get(replay, params={"lang": "en"})
    assert confirm.status_code == 200, confirm.text
    assert "Yes, send it again" in confirm.text
    # still pending: refused, answered on the confirmation page
    pending = await client.post(replay, data={"key": uuid.uuid4().hex, "return_to": replay})
    assert pending.status_code == 303
    assert pending.headers["location"] == replay
    shown = await client.get(replay, params={"lang": "en"})
    assert 'data-code="conflict"' in shown.text
    assert "still waiting" in shown.text

    # as if the sender had given up on it after its bounded time
    await suite.db.execute(
        "UPDATE webhook_deliveries SET state = 'failed', last_error = 'receiver down' "
        "WHERE id = $1",
        uuid.UUID(delivery),
    )
    done = await client.post(replay, data={"key": uuid.uuid4().hex, "return_to": replay})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/staff/webhooks/{sid}?done=done_webhook_replayed"
    after = await client.get(done.headers["location"] + "&lang=en")
    assert "The delivery is being sent again." in after.text
    assert f'data-delivery="{delivery}" data-state="pending"' in after.text

    await sign_in(client, "clerk-library")  # another department's: not found, nothing shown
    assert (await client.get(f"/staff/webhooks/{sid}")).status_code == 404
    assert (await client.get(replay)).status_code == 404
    assert (await client.get(f"/staff/webhooks/{sid}/stop")).status_code == 404

    await sign_in(client, "clerk-sports")
    stop = f"/staff/webhooks/{sid}/stop"
    asked = await client.get(stop, params={"lang": "en"})
    assert "Yes, stop the subscription" in asked.text
    stopped = await client.post(stop, data={"key": uuid.uuid4().hex, "return_to": stop})
    assert stopped.headers["location"] == "/staff/webhooks?done=done_webhook_stopped"
    gone = await client.get("/staff/webhooks", params={"inactive": "1", "lang": "en"})
    assert f'data-subscription="{sid}" data-active="no"' in gone.text

    await sign_in(client, "admin")  # an admin: any department's, subscribing for any
    every = await client.get("/staff/webhooks", params={"inactive": "1", "lang": "en"})
    assert f'data-subscription="{sid}"' in every.text
    assert '<option value="library"' in every.text

    await sign_in(client, "resident-turku")
    assert (await client.get("/staff/webhooks")).status_code == 403
