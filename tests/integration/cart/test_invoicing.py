"""Organisations as customers and invoicing (issue 19), with the real booking, cart and
payment services hosted in-process (real PostgreSQL and NATS).

An association's contact person holds a sports hall, checks out and has the order invoiced:
the reservation is confirmed at once, the invoice is in the ERP export as its own row type,
the bank's payments mark it paid (a wrong amount is an anomaly), unpaid after its due date it
is overdue, and a cancellation gives a credit note naming the original.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY

from services.booking import demo as booking_demo
from services.booking.app import MIGRATIONS as BOOKING_MIGRATIONS
from services.booking.app import build as build_booking
from services.booking.settings import BookingSettings
from services.payment import metrics as payment_metrics
from services.payment.app import MIGRATIONS as PAYMENT_MIGRATIONS
from services.payment.app import builder as payment_builder
from services.payment.domain.invoices import is_valid_reference
from services.payment.settings import PaymentSettings
from shared.contracts.audit import (
    ErasedCounts,
    ErasePersonalDataRequest,
    PersonalData,
    PersonalDataRequest,
)
from shared.contracts.booking import (
    CancelReply,
    CancelRequest,
    HoldItem,
    HoldReply,
    HoldRequest,
    ReservationRef,
    ReservationView,
)
from shared.contracts.cart import AddReservationRequest, CartView, OrderView
from shared.contracts.common import Principal, RequestContext
from shared.contracts.invoicing import (
    BillingAddress,
    ImportInvoicePaymentsRequest,
    InvoiceLanguage,
    InvoiceList,
    InvoicePaymentImport,
    InvoicePaymentRow,
    InvoiceView,
    ListInvoicesRequest,
    ListOrganisationsRequest,
    OrganisationList,
    OrganisationView,
    SaveOrganisationRequest,
)
from shared.contracts.payment import (
    AnomalyList,
    ErpExport,
    ErpExportRequest,
    ListAnomaliesRequest,
    PaymentView,
    StartPaymentRequest,
)
from shared.errors import Conflict, Forbidden, ValidationFailed
from tests.conftest import empty_schemas
from tests.integration.cart.conftest import Cart, resident, staff
from tests.integration.cart.flows import checkout, eventually, order_in

HELSINKI = ZoneInfo("Europe/Helsinki")
FINANCE = Principal(subject="finance-eeva", roles=("finance",))
CLERK = staff("staff", departments=("sports",))
TERMS_DAYS = 14


class Suite:
    def __init__(self, cart: Cart, payment_pool: Any, payment: Any = None) -> None:
        self.cart = cart
        self.payment_pool = payment_pool
        self.payment = payment  # the running payment service (its consumers)

    async def call(self, subject: str, req: Any, reply: type, who: Principal | None) -> Any:
        ctx = RequestContext(principal=who, request_id=uuid.uuid4().hex)
        return await self.cart.requester.call(subject, req, reply, ctx=ctx)

    async def organisation(
        self, *contacts: str, business_id: str = "2077474-0", language: InvoiceLanguage = "fi"
    ) -> OrganisationView:
        req = SaveOrganisationRequest(
            name="Turun Urheiluseura ry",
            business_id=business_id,
            customer_group="association",
            billing_address=BillingAddress(
                street="Urheilupuistonkatu 1", postal_code="20100", city="Turku"
            ),
            einvoice_address="003720774740",
            einvoice_operator="003723327487",
            contact_persons=list(contacts),
            language=language,
        )
        return await self.call("payment.v1.save_organisation", req, OrganisationView, CLERK)

    async def ordered_reservation(
        self, me: Principal, days_ahead: int, hour: int
    ) -> tuple[ReservationView, OrderView]:
        item = HoldItem(
            resource_id=booking_demo.RESOURCE_SPORTS_HALL,
            starts_at=weekday_slot(days_ahead, hour),
            ends_at=weekday_slot(days_ahead, hour) + timedelta(hours=1),
        )
        held = (
            await self.call("booking.v1.hold", HoldRequest(items=[item]), HoldReply, me)
        ).reservations[0]
        await self.cart.call(
            "add_reservation",
            AddReservationRequest(reservation_id=held.reservation_id),
            CartView,
            me,
        )
        return held, await checkout(self.cart, me)

    async def invoice(self, who: Principal, order_id: uuid.UUID, org_id: uuid.UUID) -> PaymentView:
        req = StartPaymentRequest(order_id=order_id, method="invoice", organisation_id=org_id)
        return await self.call("payment.v1.start", req, PaymentView, who)

    async def invoices(self, who: Principal, *, overdue: bool = False) -> list[InvoiceView]:
        reply = await self.call(
            "payment.v1.list_invoices", ListInvoicesRequest(overdue=overdue), InvoiceList, who
        )
        return list(reply.invoices)

    async def credited(self) -> tuple[InvoiceView, InvoiceView]:
        """(the credit note, the invoice it credits) once both are there (staff's view)."""
        found: list[InvoiceView] = []

        async def both() -> bool:
            found[:] = await self.invoices(CLERK)
            return len(found) == 2

        await eventually(both)
        credit = next(i for i in found if i.kind == "credit_note")
        return credit, next(i for i in found if i.kind == "invoice")

    async def reservation(self, me: Principal, reservation_id: uuid.UUID) -> ReservationView:
        ref = ReservationRef(reservation_id=reservation_id)
        return await self.call("booking.v1.get", ref, ReservationView, me)


async def overdue_gauge(suite: Suite) -> float | None:
    """The payment service's gauge of overdue invoices after a collection round."""
    for collect in payment_metrics.collectors(suite.payment_pool):
        await collect()
    return REGISTRY.get_sample_value("tcs_payment_invoices_overdue")


def weekday_slot(days_ahead: int, hour: int) -> datetime:
    day = datetime.now(HELSINKI).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=HELSINKI).astimezone(UTC)


@pytest.fixture
async def suite(hosted: Any, database_url: str, cart: Cart) -> AsyncIterator[Suite]:
    def booking(infra: Any) -> Any:
        return build_booking(infra, BookingSettings(demo_data=True, sweep_interval_s=0.5))

    payment = payment_builder(PaymentSettings(sweep_interval_s=1.0, invoice_terms_days=TERMS_DAYS))
    async with (
        hosted("booking", booking, BOOKING_MIGRATIONS),
        hosted("payment", payment, PAYMENT_MIGRATIONS) as running,
    ):
        yield Suite(cart, running.infra.pool, running)
    await empty_schemas(database_url, "booking", "payment")


async def test_an_organisation_with_an_invalid_business_id_is_refused_naming_the_field(
    suite: Suite,
) -> None:
    contact = resident()
    with pytest.raises(ValidationFailed) as refused:
        await suite.organisation(contact.subject, business_id="2077474-1")
    assert refused.value.field == "business_id"
    assert await suite.payment_pool.fetchval("SELECT count(*) FROM organisations") == 0

    with pytest.raises(Forbidden):  # a resident does not create organisations
        await suite.call(
            "payment.v1.save_organisation",
            SaveOrganisationRequest(
                name="Oma seura",
                business_id="2077474-0",
                customer_group="association",
                billing_address=BillingAddress(street="Katu 1", postal_code="20100", city="Turku"),
            ),
            OrganisationView,
            contact,
        )

    org = await suite.organisation(contact.subject, business_id=" 20774740 ")
    assert org.business_id == "2077474-0"  # in its standard form
    with pytest.raises(Conflict) as twice:  # one organisation per business ID
        await suite.organisation(business_id="2077474-0")
    assert twice.value.field == "business_id"
    with pytest.raises(ValidationFailed) as no_operator:
        await suite.call(
            "payment.v1.save_organisation",
            SaveOrganisationRequest(
                organisation_id=org.organisation_id,
                name=org.name,
                business_id=org.business_id,
                customer_group="school",
                billing_address=org.billing_address,
                einvoice_address="003720774740",
            ),
            OrganisationView,
            CLERK,
        )
    assert no_operator.value.field == "einvoice_operator"

    # Staff change it; its contact persons see it, nobody else does.
    edited = await suite.call(
        "payment.v1.save_organisation",
        SaveOrganisationRequest(
            organisation_id=org.organisation_id,
            name="Turun Urheiluseura ry",
            business_id=org.business_id,
            customer_group="school",
            billing_address=org.billing_address,
            contact_persons=[contact.subject, "resident-second"],
        ),
        OrganisationView,
        CLERK,
    )
    assert edited.customer_group == "school"
    mine = await suite.call(
        "payment.v1.list_organisations", ListOrganisationsRequest(), OrganisationList, contact
    )
    assert [o.organisation_id for o in mine.organisations] == [org.organisation_id]
    others = await suite.call(
        "payment.v1.list_organisations", ListOrganisationsRequest(), OrganisationList, resident()
    )
    assert others.organisations == []


async def test_an_invoiced_order_is_confirmed_exported_paid_and_overdue_when_unpaid(
    suite: Suite,
) -> None:
    contact = resident()
    org = await suite.organisation(contact.subject)
    held, order = await suite.ordered_reservation(contact, 9, 10)

    paid = await suite.invoice(contact, order.order_id, org.organisation_id)
    assert paid.state == "succeeded"
    await order_in(suite.cart, contact, order.order_id, "fulfilled")
    assert (await suite.reservation(contact, held.reservation_id)).state == "confirmed"

    (invoice,) = await suite.invoices(contact)  # the contact person sees their invoices
    assert invoice.kind == "invoice"
    assert invoice.state == "open"
    assert not invoice.overdue
    assert invoice.organisation_id == org.organisation_id
    assert (invoice.business_id, invoice.einvoice_operator) == ("2077474-0", "003723327487")
    assert invoice.amount_cents == invoice.open_cents == held.gross_cents > 0
    assert is_valid_reference(invoice.reference_number)
    assert invoice.due_date >= invoice.invoice_date + timedelta(days=TERMS_DAYS)
    (line,) = invoice.lines
    assert line.vat_cents + line.net_cents == line.gross_cents == held.gross_cents
    assert line.gl_account
    assert line.cost_centre

    # The ERP export of the invoicing day: the invoice is a row type of its own.
    await suite.payment_pool.execute("UPDATE ledger_entries SET booked_on = booked_on - 1")
    await suite.payment_pool.execute("UPDATE invoices SET invoice_date = invoice_date - 1")
    day = datetime.now(HELSINKI).date() - timedelta(days=1)
    export = await suite.call(
        "payment.v1.erp_export", ErpExportRequest(day=day), ErpExport, FINANCE
    )
    assert {r.kind for r in export.rows} == {"invoice"}
    assert sum(r.base_cents + r.vat_cents for r in export.rows) == held.gross_cents
    assert ";invoice;" in export.csv
    assert [i.invoice_id for i in export.invoices] == [invoice.invoice_id]

    # Past its due date and unpaid: overdue, in the staff list.
    await suite.payment_pool.execute("UPDATE invoices SET due_date = current_date - 2")
    (overdue,) = await suite.invoices(CLERK, overdue=True)
    assert overdue.invoice_id == invoice.invoice_id
    assert overdue.overdue
    assert await overdue_gauge(suite) == 1

    # The bank pays the wrong amount: an anomaly for finance, the invoice stays unpaid.
    wrong = await suite.call(
        "payment.v1.import_invoice_payments",
        ImportInvoicePaymentsRequest(
            rows=[
                InvoicePaymentRow(
                    reference_number=invoice.reference_number,
                    amount_cents=invoice.amount_cents - 100,
                    paid_on=datetime.now(HELSINKI).date(),
                ),
                InvoicePaymentRow(
                    reference_number="1232", amount_cents=500, paid_on=datetime.now(HELSINKI).date()
                ),
            ]
        ),
        InvoicePaymentImport,
        FINANCE,
    )
    assert [r.outcome for r in wrong.results] == ["amount_mismatch", "unknown_reference"]
    assert (wrong.paid, wrong.anomalies) == (0, 2)
    anomalies = await suite.call(
        "payment.v1.list_anomalies", ListAnomaliesRequest(), AnomalyList, FINANCE
    )
    assert {a.kind for a in anomalies.anomalies} == {
        "invoice_amount_mismatch",
        "invoice_unknown_reference",
    }
    assert len(await suite.invoices(CLERK, overdue=True)) == 1

    # The bank's file with the right amount marks it paid; it is no longer overdue.
    euros = f"{invoice.amount_cents // 100},{invoice.amount_cents % 100:02d}"
    csv = f"viite;summa;pvm\n{invoice.reference_number};{euros};6.12.2026\n"
    imported = await suite.call(
        "payment.v1.import_invoice_payments",
        ImportInvoicePaymentsRequest(csv=csv),
        InvoicePaymentImport,
        FINANCE,
    )
    assert [r.outcome for r in imported.results] == ["paid"]
    assert await suite.invoices(CLERK, overdue=True) == []
    assert await overdue_gauge(suite) == 0
    (now_paid,) = await suite.invoices(FINANCE)
    assert (now_paid.state, now_paid.paid_cents, now_paid.open_cents) == (
        "paid",
        invoice.amount_cents,
        0,
    )
    again = await suite.call(
        "payment.v1.import_invoice_payments",
        ImportInvoicePaymentsRequest(csv=csv),
        InvoicePaymentImport,
        FINANCE,
    )
    assert [r.outcome for r in again.results] == ["already_paid"]
    with pytest.raises(Forbidden):  # the bank's payments are finance's
        await suite.call(
            "payment.v1.import_invoice_payments",
            ImportInvoicePaymentsRequest(csv=csv),
            InvoicePaymentImport,
            CLERK,
        )


async def test_a_cancelled_invoiced_reservation_gets_a_credit_note_naming_the_invoice(
    suite: Suite,
) -> None:
    contact = resident()
    org = await suite.organisation(contact.subject)
    held, order = await suite.ordered_reservation(contact, 10, 12)
    with pytest.raises(Forbidden) as elsewhere:  # staff of another department may not
        await suite.invoice(
            staff("staff", departments=("library",)), order.order_id, org.organisation_id
        )
    assert elsewhere.value.field == "order_id"
    await suite.invoice(CLERK, order.order_id, org.organisation_id)  # staff may invoice too
    await order_in(suite.cart, contact, order.order_id, "fulfilled")

    cancelled = await suite.call(
        "booking.v1.cancel",
        CancelRequest(reservation_id=held.reservation_id),
        CancelReply,
        contact,
    )
    assert cancelled.refund_cents == held.gross_cents
    await order_in(suite.cart, contact, order.order_id, "refunded")

    credit, original = await suite.credited()
    assert credit.credits == original.invoice_id
    assert credit.amount_cents == -original.amount_cents
    assert [x.gross_cents for x in credit.lines] == [-held.gross_cents]
    assert credit.vat_cents == -original.vat_cents
    assert is_valid_reference(credit.reference_number)
    assert (original.state, original.open_cents, original.overdue) == ("credited", 0, False)

    await suite.payment_pool.execute("UPDATE ledger_entries SET booked_on = booked_on - 1")
    day = datetime.now(HELSINKI).date() - timedelta(days=1)
    export = await suite.call(
        "payment.v1.erp_export", ErpExportRequest(day=day), ErpExport, FINANCE
    )
    kinds = {r.kind: r.base_cents + r.vat_cents for r in export.rows}
    assert kinds == {"invoice": held.gross_cents, "credit_note": -held.gross_cents}


async def test_a_resident_who_is_not_a_contact_person_cannot_pay_by_invoice(suite: Suite) -> None:
    contact, stranger = resident(), resident()
    org = await suite.organisation(contact.subject)
    held, order = await suite.ordered_reservation(stranger, 11, 14)
    with pytest.raises(Forbidden) as refused:
        await suite.invoice(stranger, order.order_id, org.organisation_id)
    assert refused.value.field == "organisation_id"
    with pytest.raises(ValidationFailed) as unnamed:
        await suite.call(
            "payment.v1.start",
            StartPaymentRequest(order_id=order.order_id, method="invoice"),
            PaymentView,
            stranger,
        )
    assert unnamed.value.field == "organisation_id"
    assert await suite.payment_pool.fetchval("SELECT count(*) FROM payments") == 0
    assert await suite.payment_pool.fetchval("SELECT count(*) FROM invoices") == 0
    await order_in(suite.cart, stranger, order.order_id, "awaiting_payment")
    assert (await suite.reservation(stranger, held.reservation_id)).state == "held"


async def test_erasing_a_contact_person_keeps_the_invoice_and_drops_them_from_the_organisation(
    suite: Suite,
) -> None:
    contact = resident()
    org = await suite.organisation(contact.subject, "resident-other")
    _, order = await suite.ordered_reservation(contact, 12, 9)
    await suite.invoice(contact, order.order_id, org.organisation_id)
    audit = Principal(subject="system:audit", roles=("system",), kind="service")
    mine = await suite.call(
        "payment.v1.personal_data",
        PersonalDataRequest(customer=contact.subject),
        PersonalData,
        audit,
    )
    assert len(mine.tables["organisations"]) == 1
    assert len(mine.tables["invoices"]) == 1
    pseudonym = f"erased:{uuid.uuid4().hex}"
    await suite.call(
        "payment.v1.erase_personal_data",
        ErasePersonalDataRequest(customer=contact.subject, pseudonym=pseudonym),
        ErasedCounts,
        audit,
    )
    (kept,) = await suite.invoices(FINANCE)
    assert kept.amount_cents > 0
    assert await suite.payment_pool.fetchval("SELECT issued_by FROM invoices") == pseudonym
    (left,) = (
        await suite.call(
            "payment.v1.list_organisations", ListOrganisationsRequest(), OrganisationList, CLERK
        )
    ).organisations
    assert left.contact_persons == ["resident-other"]


async def test_an_order_invoiced_twice_at_once_gets_one_invoice(suite: Suite) -> None:
    contact = resident()
    org = await suite.organisation(contact.subject)
    _, order = await suite.ordered_reservation(contact, 13, 11)
    first, second = await asyncio.gather(
        suite.invoice(contact, order.order_id, org.organisation_id),
        suite.invoice(CLERK, order.order_id, org.organisation_id),
    )
    assert first.payment_id == second.payment_id
    assert await suite.payment_pool.fetchval("SELECT count(*) FROM invoices") == 1
    await order_in(suite.cart, contact, order.order_id, "fulfilled")
    with pytest.raises(Conflict):  # paid: no card payment after the invoice
        await suite.call(
            "payment.v1.start", StartPaymentRequest(order_id=order.order_id), PaymentView, contact
        )
