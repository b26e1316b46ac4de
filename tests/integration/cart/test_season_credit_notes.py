"""Credit notes of cancelled season occurrences, and season invoices in cart (issue 19), with
the real booking, cart and payment services hosted in-process (real PostgreSQL and NATS).

An association's season is approved and its first month invoiced; staff cancel one occurrence
of that month: payment credits exactly that occurrence once (a credit note naming the month's
invoice, an ERP row `credit_note`), also when the cancellation reaches it again. An occurrence
of a month not invoiced yet needs no credit note: the month's invoice leaves it out. Cart,
which never had the season's "order", hears the invoice's payment and credit and passes over
them without a warning. An occurrence its organisation cancels is credited by the resource's
cancellation policy: in full before the free cancellation period ends, then its late share
(and in a month not invoiced yet, the part kept is billed with the month).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from services.booking import demo as booking_demo
from shared.contracts.booking import (
    CancelReply,
    CancelRequest,
    ReservationCancelled,
    ReservationView,
)
from shared.contracts.common import Principal
from shared.contracts.invoicing import InvoiceLanguage, InvoiceView
from shared.contracts.payment import ErpExport, ErpExportRequest
from shared.contracts.season import ApplySeasonRequest, InvoiceSeasonMonthRequest, SeasonRef
from shared.contracts.season import SeasonView as Season
from tests.integration.cart.conftest import resident
from tests.integration.cart.flows import eventually, reservation_event
from tests.integration.cart.test_invoicing import CLERK, FINANCE, Suite, suite
from tests.integration.gateway.test_season_routes import TUESDAY, season_months, tuesdays

HELSINKI = ZoneInfo("Europe/Helsinki")
HOUR_CENTS = 1800  # the sports hall's association price
__all__ = ["suite"]  # the fixture, shared with test_invoicing


async def approved_season(
    suite: Suite, contact_subject: str, language: InvoiceLanguage = "fi"
) -> Season:
    org = await suite.organisation(contact_subject, language=language)
    first, last = season_months()
    applied = await suite.call(
        "booking.v1.apply_season",
        ApplySeasonRequest(
            resource_id=booking_demo.RESOURCE_SPORTS_HALL,
            organisation_id=org.organisation_id,
            weekday=TUESDAY,
            starts_at=time(18),
            ends_at=time(19),
            first_day=first,
            last_day=last,
        ),
        Season,
        resident(contact_subject),
    )
    approved: Season = await suite.call(
        "booking.v1.approve_season", SeasonRef(season_id=applied.season_id), Season, CLERK
    )
    assert {r.state for r in approved.reservations} == {"confirmed"}
    assert {r.organisation_id for r in approved.reservations} == {org.organisation_id}
    return approved


async def cancel(suite: Suite, reservation_id: uuid.UUID) -> None:
    req = CancelRequest(reservation_id=reservation_id, reason="Sali kisakäytössä")
    await suite.call("booking.v1.cancel", req, CancelReply, CLERK)


async def consumed_by_cart(suite: Suite, subject: str, count: int) -> None:
    """Wait until cart's payment consumers have taken `count` payment events of `subject`."""
    rows = await suite.payment_pool.fetch("SELECT event_id FROM outbox WHERE subject = $1", subject)
    assert len(rows) == count
    ids = [r["event_id"] for r in rows]

    async def taken() -> bool:
        n = await suite.cart.pool.fetchval(
            "SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])", ids
        )
        return bool(n == count)

    await eventually(taken)


async def hear_cancelled(s: Suite, r: ReservationView, season_id: uuid.UUID) -> None:
    """Payment's consumer handed booking's news of `r` cancelled (a new event id: as a
    redelivery that the inbox does not stop, or news overtaking what booking listed)."""
    news = reservation_event(
        ReservationCancelled, r, state="cancelled", series_id=season_id, cancelled_by="staff"
    )
    (consumer,) = [
        c for c in s.payment.definition.consumers if c.durable == "payment-season-cancellations"
    ]
    async with s.payment_pool.acquire() as conn, conn.transaction():
        await consumer.handle(conn, news)


async def test_a_cancelled_occurrence_of_an_invoiced_month_is_credited_once(
    suite: Suite, caplog: pytest.LogCaptureFixture
) -> None:
    s = suite
    caplog.set_level(logging.WARNING, logger="services.cart")
    contact = resident()
    season = await approved_season(s, contact.subject)
    first, last = season_months()
    in_first = [
        r for r in season.reservations if r.starts_at.astimezone(HELSINKI).month == first.month
    ]
    in_second = [r for r in season.reservations if r not in in_first]
    assert len(in_first) == len([d for d in tuesdays(first, last) if d.month == first.month])

    month = f"{first:%Y-%m}"
    invoice = await s.call(
        "payment.v1.invoice_season_month",
        InvoiceSeasonMonthRequest(season_id=season.season_id, month=month),
        InvoiceView,
        CLERK,
    )
    assert invoice.amount_cents == HOUR_CENTS * len(in_first)

    gone, other_month = in_first[1], in_second[0]
    await cancel(s, gone.reservation_id)
    await cancel(s, other_month.reservation_id)  # its month is not invoiced yet

    credit, original = await s.credited()
    assert credit.credits == original.invoice_id == invoice.invoice_id
    assert credit.organisation_id == invoice.organisation_id
    assert credit.amount_cents == -HOUR_CENTS
    assert [(x.line_id, x.gross_cents) for x in credit.lines] == [
        (gone.reservation_id, -HOUR_CENTS)
    ]
    assert credit.vat_cents < 0
    assert (original.state, original.open_cents) == (
        "open",
        invoice.amount_cents - HOUR_CENTS,
    )

    # The cancellation heard again (a redelivery past the inbox, another replica): still one.
    await hear_cancelled(s, gone, season.season_id)
    assert (
        await s.payment_pool.fetchval("SELECT count(*) FROM invoices WHERE kind = 'credit_note'")
        == 1
    )
    assert len(await s.invoices(CLERK)) == 2

    # The second month's invoice bills only its occurrences still confirmed.
    second = await s.call(
        "payment.v1.invoice_season_month",
        InvoiceSeasonMonthRequest(season_id=season.season_id, month=f"{last:%Y-%m}"),
        InvoiceView,
        CLERK,
    )
    assert {x.line_id for x in second.lines} == {
        r.reservation_id for r in in_second if r is not other_month
    }

    # The ERP export: the credit note beside the invoices, as its own row type.
    await s.payment_pool.execute("UPDATE ledger_entries SET booked_on = booked_on - 1")
    day = datetime.now(HELSINKI).date() - timedelta(days=1)
    export = await s.call("payment.v1.erp_export", ErpExportRequest(day=day), ErpExport, FINANCE)
    kinds: dict[str, int] = {}
    for row in export.rows:
        kinds[row.kind] = kinds.get(row.kind, 0) + row.base_cents + row.vat_cents
    assert kinds == {
        "invoice": invoice.amount_cents + second.amount_cents,
        "credit_note": -HOUR_CENTS,
    }
    assert ";credit_note;" in export.csv

    # Cart heard the invoices' payments and the credit, and passed over them quietly.
    await consumed_by_cart(s, "evt.payment.payment.succeeded", 2)
    await consumed_by_cart(s, "evt.payment.payment.refunded", 1)
    refunded = await s.payment_pool.fetchval(
        "SELECT payload FROM outbox WHERE subject = 'evt.payment.payment.refunded'"
    )
    assert msgspec.json.decode(bytes(refunded))["season_id"] == str(season.season_id)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [w for w in warnings if "unknown order" in w] == []


async def test_an_occurrence_cancelled_while_its_month_is_invoiced_is_not_billed(
    suite: Suite,
) -> None:
    """Booking listed the occurrence as confirmed, then its cancellation reached payment
    before the invoice was written: the invoice leaves it out, and no credit note follows."""
    season = await approved_season(suite, resident().subject)
    first, _ = season_months()
    in_first = [
        r for r in season.reservations if r.starts_at.astimezone(HELSINKI).month == first.month
    ]
    late = in_first[0]
    await hear_cancelled(suite, late, season.season_id)  # booking still has it confirmed
    invoice = await suite.call(
        "payment.v1.invoice_season_month",
        InvoiceSeasonMonthRequest(season_id=season.season_id, month=f"{first:%Y-%m}"),
        InvoiceView,
        CLERK,
    )
    assert {x.line_id for x in invoice.lines} == {r.reservation_id for r in in_first[1:]}
    assert invoice.amount_cents == HOUR_CENTS * (len(in_first) - 1)
    await hear_cancelled(suite, late, season.season_id)  # heard again: nothing to credit
    assert [i.kind for i in await suite.invoices(CLERK)] == ["invoice"]


async def cancel_as(suite: Suite, who: Principal, reservation_id: uuid.UUID) -> int:
    req = CancelRequest(reservation_id=reservation_id, reason="ei vuoroa tällä viikolla")
    reply: CancelReply = await suite.call("booking.v1.cancel", req, CancelReply, who)
    return reply.refund_cents


async def policy(suite: Suite, free_cancel_hours: int) -> None:
    """The sports hall's free cancellation period (its late refund stays 50 %)."""
    await suite.payment_pool.execute(
        "UPDATE booking.resources SET free_cancel_hours = $2, late_refund_percent = 50"
        " WHERE id = $1",
        booking_demo.RESOURCE_SPORTS_HALL,
        free_cancel_hours,
    )


async def test_an_occurrence_the_organisation_cancels_late_is_credited_by_the_policy(
    suite: Suite,
) -> None:
    """Before the free cancellation period ends the whole price comes back; after it only the
    policy's 50 %: in an invoiced month as the credit note, in a month not invoiced yet as
    the kept half billed with the month (an early one left out)."""
    s = suite
    contact = resident()
    season = await approved_season(s, contact.subject)
    first, last = season_months()
    in_first = [
        r for r in season.reservations if r.starts_at.astimezone(HELSINKI).month == first.month
    ]
    in_second = [r for r in season.reservations if r not in in_first]
    invoice = await s.call(
        "payment.v1.invoice_season_month",
        InvoiceSeasonMonthRequest(season_id=season.season_id, month=f"{first:%Y-%m}"),
        InvoiceView,
        CLERK,
    )

    # Early (the occurrences are weeks ahead; 24 h free): all of it credited.
    assert await cancel_as(s, contact, in_first[0].reservation_id) == HOUR_CENTS
    credit, _ = await s.credited()
    assert credit.amount_cents == -HOUR_CENTS
    assert await cancel_as(s, contact, in_second[0].reservation_id) == HOUR_CENTS

    # Late (a free period longer than the weeks left): half back, half kept.
    await policy(s, 24 * 200)
    assert await cancel_as(s, contact, in_first[1].reservation_id) == HOUR_CENTS // 2
    assert await cancel_as(s, contact, in_second[1].reservation_id) == HOUR_CENTS // 2

    notes: list[InvoiceView] = []

    async def two_credits() -> bool:
        notes[:] = [i for i in await s.invoices(CLERK) if i.kind == "credit_note"]
        return len(notes) == 2

    await eventually(two_credits)
    late = next(n for n in notes if n.lines[0].line_id == in_first[1].reservation_id)
    assert late.amount_cents == -(HOUR_CENTS // 2)
    assert late.credits == invoice.invoice_id
    (original,) = [i for i in await s.invoices(CLERK) if i.kind == "invoice"]
    assert original.open_cents == invoice.amount_cents - HOUR_CENTS - HOUR_CENTS // 2

    second = await s.call(
        "payment.v1.invoice_season_month",
        InvoiceSeasonMonthRequest(season_id=season.season_id, month=f"{last:%Y-%m}"),
        InvoiceView,
        CLERK,
    )
    billed = {x.line_id: x.gross_cents for x in second.lines}
    assert in_second[0].reservation_id not in billed  # cancelled early: not billed
    assert billed[in_second[1].reservation_id] == HOUR_CENTS // 2  # late: the kept half
    kept_line = next(x for x in second.lines if x.line_id == in_second[1].reservation_id)
    assert "peruttu myöhään" in kept_line.description
    assert kept_line.vat_cents + kept_line.net_cents == HOUR_CENTS // 2
    assert second.amount_cents == HOUR_CENTS * (len(in_second) - 2) + HOUR_CENTS // 2


async def test_staff_cancelling_an_occurrence_late_credits_it_in_full(suite: Suite) -> None:
    s = suite
    season = await approved_season(s, resident().subject)
    first, _ = season_months()
    in_first = [
        r for r in season.reservations if r.starts_at.astimezone(HELSINKI).month == first.month
    ]
    await s.call(
        "payment.v1.invoice_season_month",
        InvoiceSeasonMonthRequest(season_id=season.season_id, month=f"{first:%Y-%m}"),
        InvoiceView,
        CLERK,
    )
    await policy(s, 24 * 200)  # late for the organisation; staff give all of it back
    await cancel(s, in_first[0].reservation_id)
    credit, _ = await s.credited()
    assert credit.amount_cents == -HOUR_CENTS


@pytest.mark.parametrize(
    ("language", "hall", "late"),
    [("sv", "Huvudsal", "avbokad sent"), ("en", "Main hall", "cancelled late")],
)
async def test_an_organisation_is_invoiced_in_its_language(
    suite: Suite, language: InvoiceLanguage, hall: str, late: str
) -> None:
    """Turku is bilingual: a Swedish-speaking association's season month was invoiced in
    Finnish ("Pääsali 06.01.2027 18:00-19:00", "peruttu myöhään"). Its lines are written in
    the organisation's language: the hall's name in it, and a late cancellation said in it."""
    s = suite
    contact = resident()
    season = await approved_season(s, contact.subject, language)
    _, last = season_months()
    in_last = [
        r for r in season.reservations if r.starts_at.astimezone(HELSINKI).month == last.month
    ]
    await policy(s, 24 * 200)  # a free period longer than the weeks left: half is kept
    assert await cancel_as(s, contact, in_last[0].reservation_id) == HOUR_CENTS // 2
    invoice = await s.call(
        "payment.v1.invoice_season_month",
        InvoiceSeasonMonthRequest(season_id=season.season_id, month=f"{last:%Y-%m}"),
        InvoiceView,
        CLERK,
    )
    starts = in_last[1].starts_at.astimezone(HELSINKI)
    written = {x.line_id: x.description for x in invoice.lines}
    assert written[in_last[1].reservation_id] == f"{hall} {starts:%d.%m.%Y} 18:00-19:00"
    assert written[in_last[0].reservation_id].endswith(f" ({late})")
    assert all(text.startswith(f"{hall} ") for text in written.values())
    assert not any("Pääsali" in text or "peruttu" in text for text in written.values())
