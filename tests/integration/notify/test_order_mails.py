"""E-mails about orders, end to end: the real cart service (with the Koha stand-in) pays,
records and delivers -> its events -> notify -> a real SMTP server. The order paid with its
receipt, the GIS file ready with its live link, the library payment recorded, a refund; each
in the resident's language; a redelivered event gives no second mail."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client as NATS

from services.notify.texts import Language, load
from shared.contracts.cart import (
    DownloadGrant,
    DownloadRequest,
    OrderCancelled,
    OrderLineView,
    OrderPaid,
    OrderView,
    RefundRequestView,
    RequestRefundRequest,
)
from shared.contracts.common import Principal
from shared.contracts.payment import PaymentRefunded
from tests.integration.cart import conftest as cart_fixtures
from tests.integration.cart.conftest import Cart, resident, staff
from tests.integration.cart.flows import checkout, fill, order_in, refunded, succeeded
from tests.integration.notify.conftest import Notify, eventually

pytestmark = pytest.mark.timeout(90)
shop, koha = cart_fixtures.cart, cart_fixtures.koha  # the real cart, its Koha stand-in

GIS_CLERK = staff("gis_clerk", departments=("gis",))
SUBJECTS = {
    "fi": ("Maksu vastaanotettu: tilaus {n}", "Tiedostosi on valmis: {f}",
           "Kirjastomaksu kirjattu: tilaus {n}", "Hyvitys: tilaus {n}"),
    "sv": ("Betalningen mottagen: beställning {n}", "Din fil är klar: {f}",
           "Biblioteksbetalningen registrerad: beställning {n}", "Återbetalning: beställning {n}"),
    "en": ("Payment received: order {n}", "Your file is ready: {f}",
           "Library payment registered: order {n}", "Refund: order {n}"),
}  # fmt: skip
WORDS = {  # a phrase of each body, and the receipt's "Total" and "Without VAT"
    "fi": ("kiitos maksustasi", "Yhteensä", "Veroton", "Linkki on voimassa"),
    "sv": ("tack för din betalning", "Totalt", "Utan moms", "Länken gäller till"),
    "en": ("thank you for your payment", "Total", "Without VAT", "The link is valid until"),
}


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def html_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


async def paid_order(shop: Cart, me: Principal) -> OrderView:
    """The resident buys library debits and a ready GIS file and pays."""
    await fill(shop, me)
    order = await checkout(shop, me)
    await shop.publish(succeeded(order))
    return await order_in(shop, me, order.order_id, "fulfilled")


def mail_with(notify: Notify, to: str, subject: str) -> EmailMessage | None:
    return next((m for m in notify.smtp.catcher.to(to) if m["Subject"] == subject), None)


def sold_as(line: OrderLineView, lang: str) -> str:
    """A line as the mail names it: a GIS product by its name in the mail's language (with
    its format and system as sold), in Finnish as sold; library debits as Koha named them."""
    description = line.line.description
    if lang == "fi" or line.line.kind != "gis_product":
        return description
    names = line.details["product_name"]
    assert isinstance(names, dict)
    assert names[lang] not in description  # a name of its own in the language
    return f"{names[lang]} ({description.split(' (', 1)[1]}"


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_each_order_mail_in_the_residents_language(
    shop: Cart, notify: Notify, lang: str
) -> None:
    me, to = resident(), f"buyer-{lang}@example.fi"
    await notify.contact(me, to, locale=lang)
    order = await paid_order(shop, me)
    (link,) = order.downloads
    n, words = order.order_number, WORDS[lang]
    paid_s, file_s, library_s, refund_s = (s.format(n=n, f=link.file_name) for s in SUBJECTS[lang])
    library_lines = [x for x in order.lines if x.line.kind == "library_debit"]
    # paid, file ready, and one per library line recorded in Koha
    await eventually(lambda: len(notify.smtp.catcher.to(to)) == 2 + len(library_lines))
    language = Language(lang, load()[lang], "Europe/Helsinki")

    paid = mail_with(notify, to, paid_s)
    assert paid is not None, [m["Subject"] for m in notify.smtp.catcher.to(to)]
    assert paid["Content-Language"] == lang
    text = text_of(paid)
    assert words[0] in text
    assert f"{words[1]}: {language.money(order.total_cents)}" in text
    assert f"{words[2]}: {language.money(order.net_cents)}" in text
    for line in order.lines:
        assert sold_as(line, lang) in text
    assert f'<html lang="{lang}">' in html_of(paid)
    assert language.money(order.vat_cents) in text or order.vat_cents == 0

    ready = mail_with(notify, to, file_s)
    assert ready is not None
    assert link.url in text_of(ready)
    assert f'href="{link.url}"' in html_of(ready)
    assert words[3] in text_of(ready)
    grant = await shop.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    assert grant.file_name == link.file_name  # the mailed link downloads the file

    recorded = [text_of(m) for m in notify.smtp.catcher.to(to) if m["Subject"] == library_s]
    assert len(recorded) == len(library_lines) == 2
    for x in library_lines:
        written = f"{x.line.description}: {language.money(x.line.gross_cents)}"
        assert sum(written in t for t in recorded) == 1

    gis_line = next(x for x in order.lines if x.line.kind == "gis_product")
    asked = await shop.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=gis_line.line.line_id,
                             amount_cents=gis_line.line.gross_cents),
        RefundRequestView, GIS_CLERK,
    )  # fmt: skip
    await shop.publish(refunded(order, asked))
    await eventually(lambda: mail_with(notify, to, refund_s) is not None)
    refund = mail_with(notify, to, refund_s)
    assert refund is not None
    assert language.money(gis_line.line.gross_cents) in text_of(refund)
    assert sold_as(gis_line, lang) in text_of(refund)

    async def all_sent() -> bool:  # the server's 250 comes a moment before the row says so
        return all(m.state == "sent" for m in await notify.messages(me.subject))

    await eventually(all_sent)
    sent = await notify.messages(me.subject)
    assert sorted((m.kind, m.state, m.locale) for m in sent) == sorted(
        (kind, "sent", lang)
        for kind in ("order_paid", "gis_file_ready", "library_payment_registered",
                     "library_payment_registered", "refund_succeeded")
    )  # fmt: skip
    by_kind = {m.kind: m.merchant_id for m in sent}
    assert by_kind["gis_file_ready"] == "gis"
    assert by_kind["order_paid"] == ""  # lines of two departments: the city's sender


async def test_a_redelivered_paid_event_gives_one_mail(
    shop: Cart, notify: Notify, nc: NATS
) -> None:
    me, to = resident(), "once@example.fi"
    await notify.contact(me, to)
    order = await paid_order(shop, me)
    await eventually(lambda: len(notify.smtp.catcher.to(to)) == 4)
    [payload] = [
        msgspec.json.encode(e)
        for e in await shop.outbox(OrderPaid.subject)
        if e["order_id"] == str(order.order_id)
    ]
    js = nc.jetstream()
    for _ in range(3):  # the same event again, as new stream messages (no Nats-Msg-Id)
        await js.publish(OrderPaid.subject, payload)
    await shop.publish(succeeded(order))  # and the payment again: shop pays nothing twice
    await asyncio.sleep(1.5)
    subject = SUBJECTS["fi"][0].format(n=order.order_number)
    assert [m["Subject"] for m in notify.smtp.catcher.to(to)].count(subject) == 1
    kinds = [m.kind for m in await notify.messages(me.subject)]
    assert kinds.count("order_paid") == 1
    assert len(notify.smtp.catcher.to(to)) == 4


async def test_a_file_refunded_before_its_mail_is_not_linked_and_staff_see_why(
    shop: Cart, notify: Notify
) -> None:
    me, to = resident(), "late@example.fi"
    await notify.contact(me, to)
    notify.smtp.catcher.answer = "451 4.3.0 try again later"  # nothing goes out yet
    await fill(shop, me, library=False)
    order = await checkout(shop, me)
    await shop.publish(succeeded(order))
    order = await order_in(shop, me, order.order_id, "fulfilled")
    gis_line = next(x for x in order.lines if x.line.kind == "gis_product")
    asked = await shop.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=gis_line.line.line_id,
                             amount_cents=gis_line.line.gross_cents),
        RefundRequestView, GIS_CLERK,
    )  # fmt: skip
    await shop.publish(refunded(order, asked))

    async def refund_recorded() -> bool:
        return any(m.kind == "refund_succeeded" for m in await notify.messages(me.subject))

    await eventually(refund_recorded)
    notify.smtp.catcher.answer = None

    async def settled() -> bool:
        found = await notify.messages(me.subject)
        return len(found) == 3 and all(m.state in ("sent", "failed") for m in found)

    await eventually(settled, timeout=15.0)
    states = {m.kind: (m.state, m.last_error) for m in await notify.messages(me.subject)}
    assert states["gis_file_ready"] == ("failed", "the file's download is no longer there")
    assert states["order_paid"][0] == states["refund_succeeded"][0] == "sent"
    assert all("/api/v1/downloads/" not in text_of(m) for m in notify.smtp.catcher.to(to))


async def test_a_refund_of_an_order_notify_never_saw_tells_nobody_and_blocks_nothing(
    shop: Cart, notify: Notify
) -> None:
    stranger = PaymentRefunded(
        payment_id=uuid.uuid4(), order_id=uuid.uuid4(), amount_cents=500, provider="local",
        refund_id=uuid.uuid4(), lines=[], reason="staff",
    )  # fmt: skip
    await shop.publish(stranger)
    me, to = resident(), "after@example.fi"
    await notify.contact(me, to)
    await fill(shop, me, library=False)
    order = await checkout(shop, me)
    await shop.publish(succeeded(order))  # after the stranger's refund on the same consumer
    await eventually(lambda: len(notify.smtp.catcher.to(to)) == 2)
    assert await notify.pool.fetchval("SELECT count(*) FROM messages") == 2


DUE = {
    "fi": ("Tilauksesi {n} odottaa maksua", "Maksettava viimeistään"),
    "sv": ("Din beställning {n} väntar på betalning", "Betala senast"),
    "en": ("Your order {n} is waiting for payment", "Pay by"),
}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_an_unpaid_order_reminds_its_buyer_before_the_window_closes(
    shop: Cart, notify: Notify, lang: str
) -> None:
    me, to = resident(), f"unpaid-{lang}@example.fi"
    await notify.contact(me, to, locale=lang)
    await fill(shop, me, library=False)
    order = await checkout(shop, me)  # not paid

    async def due_recorded() -> list[Any]:
        return [m for m in await notify.messages(me.subject) if m.kind == "payment_due"]

    await eventually(due_recorded)
    due_at = await notify.pool.fetchval(
        "SELECT next_attempt_at FROM messages WHERE kind = 'payment_due' AND customer = $1",
        me.subject,
    )
    assert abs((order.payment_deadline - timedelta(minutes=10) - due_at).total_seconds()) < 1
    assert notify.smtp.catcher.to(to) == []  # not before its time
    await notify.pool.execute("UPDATE messages SET next_attempt_at = now()")  # its time came
    await notify.pool.execute("SELECT pg_notify('notify_messages', 'email')")
    await eventually(lambda: len(notify.smtp.catcher.to(to)) == 1)
    [mail] = notify.smtp.catcher.to(to)
    subject, pay_by = DUE[lang]
    assert mail["Subject"] == subject.format(n=order.order_number)
    assert pay_by in text_of(mail)
    assert f"/orders/{order.order_id}" in text_of(mail)


async def test_paying_or_cancelling_calls_the_payment_reminder_off(
    shop: Cart, notify: Notify
) -> None:
    me, to = resident(), "pays-in-time@example.fi"
    await notify.contact(me, to)
    await fill(shop, me, library=False)
    order = await checkout(shop, me)

    async def due_count() -> int:
        return sum(m.kind == "payment_due" for m in await notify.messages(me.subject))

    await eventually(lambda: due_count())
    await shop.publish(succeeded(order))
    paid = SUBJECTS["fi"][0].format(n=order.order_number)
    await eventually(lambda: mail_with(notify, to, paid) is not None)
    assert await due_count() == 0  # paid: nothing to remind of

    other = resident()
    await notify.contact(other, "gives-up@example.fi")
    await fill(shop, other, library=False)
    abandoned = await checkout(shop, other)
    await eventually(
        lambda: notify.pool.fetchval(
            "SELECT count(*) FROM messages WHERE customer = $1", other.subject
        )
    )
    cancelled = OrderCancelled(
        order_id=abandoned.order_id, order_number=abandoned.order_number,
        customer=other.subject, reason="payment_abandoned", lines=[],
    )  # fmt: skip
    await shop.publish(cancelled)

    async def called_off() -> bool:
        return not await notify.pool.fetchval(
            "SELECT count(*) FROM messages WHERE customer = $1", other.subject
        )

    await eventually(called_off)
