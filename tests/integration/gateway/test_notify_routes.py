"""The notification service's routes through the gateway, with the real notify service: a
person's own contact details (and only theirs), what was sent to a customer (staff of the
departments that sent it, admins; never residents), a department's sender; bad input 4xx
naming the field and changing nothing. And sign-in filling the contact details from the
token's claims, never over what the resident chose, and never failing when notify is down."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.notify import store
from services.notify.app import MIGRATIONS, build
from services.notify.settings import NotifySettings
from shared.settings import CommonSettings
from tests.conftest import clean_schema
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings, make_client

pytestmark = pytest.mark.timeout(60)

AINO = "resident-turku"  # claims e-mail aino.virtanen@example.fi
MIKKO = "resident-kaarina"
SUBJECT = {user: f"demo:{user}" for user in (AINO, MIKKO, "clerk-sports")}  # the tokens' sub
CONTACT = "/api/v1/me/contact"
MESSAGES = "/api/v1/notify/messages"


@pytest.fixture
async def notify_pool(hosted: Any) -> AsyncIterator[asyncpg.Pool]:
    settings = NotifySettings(smtp_port=1)  # no test here sends mail
    async with hosted("notify", lambda infra: build(infra, settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "notify")
        try:
            yield pool
        finally:
            await clean_schema(pool, "notify")


@pytest.fixture
async def gateway(
    common_settings: CommonSettings, notify_pool: asyncpg.Pool, probe: None
) -> AsyncIterator[GatewayClient]:
    async with make_client(common_settings, gateway_settings()) as client:
        yield client


async def signed_in(client: GatewayClient, user: str) -> dict[str, str]:
    """A token of `user`, its sign-in's seeding of the contact details done."""
    headers = await bearer(client, user)
    assert (await client.get(f"/api/v1/probe/{uuid.uuid4()}", headers=headers)).status_code == 200
    await client.app.state.contact_seeder.wait()
    return headers


async def test_a_resident_sets_and_reads_their_own_contact(gateway: GatewayClient) -> None:
    aino = await signed_in(gateway, AINO)
    wanted = {"email": "aino@example.fi", "phone": "+358401234567", "locale": "sv",
              "reminders": False}  # fmt: skip
    put = await gateway.put(CONTACT, json=wanted, headers=aino)
    assert put.status_code == 200, put.text
    assert put.json() == {"customer": SUBJECT[AINO], **wanted}
    got = await gateway.get(CONTACT, headers=aino)
    assert got.status_code == 200
    assert got.json() == put.json()


async def test_a_resident_cannot_read_or_set_another_residents_contact(
    gateway: GatewayClient,
) -> None:
    aino, mikko = await signed_in(gateway, AINO), await signed_in(gateway, MIKKO)
    put = await gateway.put(CONTACT, json={"email": "mikko@example.fi"}, headers=mikko)
    assert put.status_code == 200, put.text
    mine = await gateway.get(CONTACT, headers=aino)
    assert mine.json()["customer"] == SUBJECT[AINO]
    assert mine.json()["email"] == "aino.virtanen@example.fi"
    asked = await gateway.get(CONTACT, params={"customer": SUBJECT[MIKKO]}, headers=aino)
    assert asked.status_code == 400
    assert asked.json()["field"] == "customer"
    sneaked = await gateway.put(
        CONTACT, json={"customer": SUBJECT[MIKKO], "email": "evil@example.fi"}, headers=aino
    )
    assert sneaked.status_code == 400
    assert sneaked.json()["field"] == "customer"
    theirs = await gateway.get(CONTACT, headers=mikko)
    assert theirs.json()["email"] == "mikko@example.fi"
    assert (await gateway.get(CONTACT)).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "not-an-address"}, "email"), ({"phone": "0401234567"}, "phone"),
     ({"locale": "de"}, "locale"), ({"reminders": "sometimes"}, "reminders")],
)  # fmt: skip
async def test_bad_contact_details_are_4xx_naming_the_field_and_change_nothing(
    gateway: GatewayClient, body: dict[str, object], field: str
) -> None:
    aino = await signed_in(gateway, AINO)
    before = (await gateway.get(CONTACT, headers=aino)).json()
    refused = await gateway.put(CONTACT, json=body, headers=aino)
    assert 400 <= refused.status_code < 500, refused.text
    assert refused.json()["field"] == field
    assert (await gateway.get(CONTACT, headers=aino)).json() == before


async def add_message(pool: asyncpg.Pool, customer: str, merchant_id: str, kind: str) -> None:
    async with pool.acquire() as conn:
        await store.add_message(
            conn, event_id=uuid.uuid4(), customer=customer, channel="email", kind=kind,
            merchant_id=merchant_id, locale="fi", address=None, data={},
            skipped="no e-mail address",
        )  # fmt: skip


async def test_staff_see_their_departments_messages_and_residents_none(
    gateway: GatewayClient, notify_pool: asyncpg.Pool
) -> None:
    await add_message(notify_pool, SUBJECT[MIKKO], "sports", "reservation_confirmed")
    await add_message(notify_pool, SUBJECT[MIKKO], "library", "library_payment_registered")
    clerk = await bearer(gateway, "clerk-sports")
    seen = await gateway.get(MESSAGES, params={"customer": SUBJECT[MIKKO]}, headers=clerk)
    assert seen.status_code == 200, seen.text
    assert [(m["merchant_id"], m["kind"], m["state"]) for m in seen.json()["messages"]] == [
        ("sports", "reservation_confirmed", "skipped")
    ]
    admin = await bearer(gateway, "admin")
    everything = await gateway.get(MESSAGES, params={"customer": SUBJECT[MIKKO]}, headers=admin)
    assert {m["merchant_id"] for m in everything.json()["messages"]} == {"sports", "library"}

    for resident in (MIKKO, AINO):  # not even their own list: it is a staff view
        refused = await gateway.get(
            MESSAGES, params={"customer": SUBJECT[MIKKO]}, headers=await bearer(gateway, resident)
        )
        assert refused.status_code == 403
    bad = await gateway.get(MESSAGES, params={"customer": MIKKO, "limit": 0}, headers=admin)
    assert bad.status_code in (400, 422)
    assert bad.json()["field"] == "limit"
    missing = await gateway.get(MESSAGES, headers=admin)
    assert missing.status_code in (400, 422)
    assert missing.json().get("field") == "customer", missing.text


async def test_a_departments_staff_set_its_sender_and_no_other_departments(
    gateway: GatewayClient, notify_pool: asyncpg.Pool
) -> None:
    clerk = await bearer(gateway, "clerk-sports")
    footer = {"fi": "Turun liikuntapalvelut", "sv": "Idrottstjänster", "en": "Sports"}
    sender = {"sender": "liikunta@turku.fi", "sender_name": "Liikuntapalvelut",
              "reply_to": "liikunta.asiakas@turku.fi", "footer": footer}  # fmt: skip
    put = await gateway.put("/api/v1/merchants/sports/sender", json=sender, headers=clerk)
    assert put.status_code == 200, put.text
    assert put.json() == {"merchant_id": "sports", **sender}
    async with notify_pool.acquire() as conn:
        kept = await store.sender(conn, "sports")
    assert kept is not None
    assert (kept.address, kept.reply_to, kept.footer["sv"]) == (
        "liikunta@turku.fi", "liikunta.asiakas@turku.fi", "Idrottstjänster",
    )  # fmt: skip

    other = await gateway.put("/api/v1/merchants/library/sender", json=sender, headers=clerk)
    assert other.status_code == 403
    bad = await gateway.put(
        "/api/v1/merchants/sports/sender", json={**sender, "reply_to": "nobody"}, headers=clerk
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "reply_to"
    resident = await bearer(gateway, AINO)
    refused = await gateway.put("/api/v1/merchants/sports/sender", json=sender, headers=resident)
    assert refused.status_code == 403
    async with notify_pool.acquire() as conn:
        assert await store.sender(conn, "library") is None
        still = await store.sender(conn, "sports")
    assert still is not None
    assert still.reply_to == "liikunta.asiakas@turku.fi"


async def test_sign_in_fills_the_contact_from_the_claims_but_never_over_the_residents_choice(
    gateway: GatewayClient,
) -> None:
    aino = await signed_in(gateway, AINO)
    got = (await gateway.get(CONTACT, headers=aino)).json()
    assert (got["email"], got["locale"]) == ("aino.virtanen@example.fi", "fi")
    chosen = {"email": "aino.private@example.fi", "locale": "en", "reminders": False}
    assert (await gateway.put(CONTACT, json=chosen, headers=aino)).status_code == 200

    await asyncio.sleep(1.1)  # a token of another second
    again = await signed_in(gateway, AINO)  # a new sign-in: a new token, the same claims
    assert again != aino
    kept = (await gateway.get(CONTACT, headers=again)).json()
    assert (kept["email"], kept["locale"], kept["reminders"]) == (
        "aino.private@example.fi", "en", False,
    )  # fmt: skip


async def test_staff_without_an_email_claim_get_no_contact_filled(
    gateway: GatewayClient, notify_pool: asyncpg.Pool
) -> None:
    await signed_in(gateway, "clerk-sports")
    async with notify_pool.acquire() as conn:
        assert await store.recipient(conn, SUBJECT["clerk-sports"]) is None


async def test_sign_in_works_while_notify_is_down(
    common_settings: CommonSettings, probe: None
) -> None:
    async with make_client(common_settings, gateway_settings()) as client:
        signed = await client.post(
            "/dev-issuer/sign-in", data={"user": AINO, "next": "/"}, follow_redirects=False
        )
        assert signed.status_code == 303
        cookie = {"Cookie": f"tcs_session={signed.cookies['tcs_session']}"}
        looked = await client.get(f"/api/v1/probe/{uuid.uuid4()}", headers=cookie)
        assert looked.status_code == 200
        assert looked.json()["principal"] == SUBJECT[AINO]
        await client.app.state.contact_seeder.wait()  # notify did not answer: nothing more
        assert (await client.get(CONTACT, headers=cookie)).status_code == 503


async def test_the_contact_page_saves_and_shows_a_refused_value_on_the_form(
    gateway: GatewayClient,
) -> None:
    aino = await signed_in(gateway, AINO)
    page = await gateway.get("/contact", headers={**aino, "Accept-Language": "sv"})
    assert page.status_code == 200, page.text
    assert '<html lang="sv"' in page.text
    assert "Kontaktuppgifter" in page.text
    assert 'value="aino.virtanen@example.fi"' in page.text  # filled at sign-in

    form = {"referer": "http://testserver/contact", **aino}
    saved = await gateway.post(
        "/contact",
        data={"email": "aino@example.fi", "phone": "+358 40 1234567", "locale": "en"},
        headers=form,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/contact?done=done_saved"
    mine = (await gateway.get(CONTACT, headers=aino)).json()
    assert (mine["email"], mine["phone"], mine["locale"], mine["reminders"]) == (
        "aino@example.fi", "+358401234567", "en", False,
    )  # fmt: skip

    refused = await gateway.post(
        "/contact", data={"email": "aino(at)example.fi", "locale": "fi"}, headers=form
    )
    assert refused.status_code == 303
    assert refused.headers["location"] == "/contact"
    again = await gateway.get(
        "/contact",
        headers={
            **aino,
            "Accept-Language": "fi",
            "Cookie": f"form_error={refused.cookies['form_error']}",
        },
    )
    assert 'data-field="email"' in again.text
    assert "Anna sähköpostiosoite muodossa" in again.text
    assert 'value="aino(at)example.fi"' in again.text  # the input kept
    assert 'aria-invalid="true"' in again.text
    unchanged = (await gateway.get(CONTACT, headers=aino)).json()
    assert unchanged["email"] == "aino@example.fi"

    # two refused at once: the summary lists both, each input marked beside its message
    both = await gateway.post(
        "/contact",
        data={"email": "aino(at)example.fi", "phone": "040-abc", "locale": "sv"},
        headers=form,
    )
    assert both.status_code == 303
    shown = await gateway.get(
        "/contact",
        headers={
            **aino,
            "Accept-Language": "sv",
            "Cookie": f"form_error={both.cookies['form_error']}",
        },
    )
    summary = shown.text.split('class="error error-summary"', 1)[1].split("</div>", 1)[0]
    assert [href for href in re.findall(r'href="#([^"]+)"', summary)] == ["email", "phone"]
    assert 'id="error-email"' in shown.text
    assert 'id="error-phone"' in shown.text
    assert shown.text.count('aria-invalid="true"') == 2
    assert 'value="040-abc"' in shown.text
    assert 'value="aino(at)example.fi"' in shown.text
    after = (await gateway.get(CONTACT, headers=aino)).json()
    assert (after["email"], after["phone"], after["locale"]) == (
        "aino@example.fi", "+358401234567", "en",
    )  # fmt: skip
