"""Contracts of organisations as customers and their invoices (`payment.v1.*`, issue 19).

An organisation (association, school, company) is a customer identified by its business ID
(Y-tunnus); its contact persons (principal subjects) may book for it and have its orders
invoiced. An invoice is the payment of an order by invoice: issued when the order is invoiced
(the order is then paid as far as cart and booking are concerned, as is the city's practice),
paid when the city's bank reports its reference number, overdue after its due date; a credit
note (a negative invoice naming the original) follows a refund of an invoiced order.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

CustomerGroup = Literal["association", "school", "company"]
# The language an organisation's invoices are written in (Turku is bilingual: a Swedish-speaking
# association is invoiced in Swedish).
InvoiceLanguage = Literal["fi", "sv", "en"]
InvoiceKind = Literal["invoice", "credit_note"]
InvoiceState = Literal["open", "paid", "credited"]
ImportOutcome = Literal["paid", "already_paid", "amount_mismatch", "unknown_reference"]

# One line of printable text (no control characters), for names and addresses.
_LINE = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_LINE)]
AddressLine = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_LINE)]
PostalCode = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9A-Za-z -]{2,12}$", description="postal code, e.g. 20100")
]
CountryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2")]
BusinessId = Annotated[
    str,
    msgspec.Meta(
        max_length=20,
        description="Finnish business ID (Y-tunnus), e.g. 0204819-8; checked with its check digit",
    ),
]
# OVT code (0037 + business ID digits + up to 5 more) or a Finvoice address (an IBAN).
EInvoiceAddress = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9A-Z]{0,35}$",
        max_length=35,
        description="e-invoice address: OVT code (e.g. 003702048198) or IBAN; empty: by post",
    ),
]
# The intermediator (operator) of the e-invoice address: its OVT/BIC id, e.g. 003723327487.
OperatorId = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9A-Z]{0,35}$",
        max_length=35,
        description="e-invoice operator (intermediator) id, e.g. 003723327487 or NDEAFIHH",
    ),
]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_LINE)]
ReferenceNumber = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9 ]{4,25}$", description="Finnish reference number")
]
Limit = Annotated[int, msgspec.Meta(ge=1, le=500, description="rows per page (1-500)")]
Offset = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000, description="rows to skip")]


class BillingAddress(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    street: AddressLine
    postal_code: PostalCode
    city: AddressLine
    country: CountryCode = "FI"


class SaveOrganisationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.save_organisation`: staff create an organisation (no `organisation_id`) or
    replace one's details. `contact_persons` are the principal subjects who may book for it."""

    organisation_id: uuid.UUID | None = None
    name: Name
    business_id: BusinessId
    customer_group: CustomerGroup
    billing_address: BillingAddress
    einvoice_address: EInvoiceAddress = ""
    einvoice_operator: OperatorId = ""
    contact_persons: Annotated[list[Subject], msgspec.Meta(max_length=50)] = []
    language: InvoiceLanguage = "fi"
    idempotency_key: str | None = None


class OrganisationView(msgspec.Struct, frozen=True, kw_only=True):
    organisation_id: uuid.UUID
    name: str
    business_id: str
    customer_group: CustomerGroup
    billing_address: BillingAddress
    einvoice_address: str
    einvoice_operator: str
    contact_persons: list[str]
    created_at: datetime
    updated_at: datetime
    language: InvoiceLanguage = "fi"


class ListOrganisationsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.list_organisations`: staff see every organisation (`name` filters by part
    of the name or the business ID); anyone else the organisations they are a contact of."""

    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    limit: Limit = 100
    offset: Offset = 0


class OrganisationList(msgspec.Struct, frozen=True, kw_only=True):
    organisations: list[OrganisationView]


class InvoiceLine(msgspec.Struct, frozen=True, kw_only=True):
    """A line with its VAT and the accounting dimensions it is booked to (negative on a
    credit note)."""

    line_id: uuid.UUID
    description: str
    merchant_id: str
    cost_centre: str
    vat_rate_bp: int
    gross_cents: int
    vat_cents: int
    net_cents: int
    company_code: str
    gl_account: str
    profit_centre: str
    internal_order: str = ""
    vat_code: str


class InvoiceView(msgspec.Struct, frozen=True, kw_only=True):
    invoice_id: uuid.UUID
    invoice_number: int
    kind: InvoiceKind
    credits: uuid.UUID | None = None  # a credit note's original invoice
    payment_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    organisation_id: uuid.UUID
    customer_name: str
    business_id: str
    billing_address: BillingAddress
    einvoice_address: str
    einvoice_operator: str
    reference_number: str
    invoice_date: date
    due_date: date
    payment_terms_days: int
    amount_cents: int
    vat_cents: int
    open_cents: int  # what is still to be paid (the amount less credit notes and payments)
    lines: list[InvoiceLine]
    state: InvoiceState
    overdue: bool
    paid_on: date | None = None
    paid_cents: int | None = None


class ListInvoicesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.list_invoices`: staff, finance and admin; `overdue` only those unpaid after
    their due date; contact persons see their organisations' invoices."""

    overdue: bool = False
    organisation_id: uuid.UUID | None = None
    state: InvoiceState | None = None  # only invoices and credit notes in this state
    kind: InvoiceKind | None = None  # only invoices, or only credit notes
    limit: Limit = 100
    offset: Offset = 0


class InvoiceList(msgspec.Struct, frozen=True, kw_only=True):
    invoices: list[InvoiceView]


class InvoicePaymentRow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reference_number: ReferenceNumber
    amount_cents: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
    paid_on: date


class ImportInvoicePaymentsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.import_invoice_payments`: finance (or admin): the bank's payments of
    invoices, as rows or as a CSV file (`reference_number;amount;paid_on`, amount in euros,
    header optional). A payment of exactly the open amount pays the invoice; another amount is
    an anomaly for finance (`invoice_amount_mismatch`) and pays nothing."""

    rows: Annotated[list[InvoicePaymentRow], msgspec.Meta(max_length=10_000)] = []
    csv: Annotated[str, msgspec.Meta(max_length=1_000_000)] = ""
    idempotency_key: str | None = None


class ImportedPayment(msgspec.Struct, frozen=True, kw_only=True):
    reference_number: str
    amount_cents: int
    paid_on: date
    outcome: ImportOutcome
    invoice_id: uuid.UUID | None = None


class InvoicePaymentImport(msgspec.Struct, frozen=True, kw_only=True):
    results: list[ImportedPayment]
    paid: int
    anomalies: int


class GetOrganisationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.get_organisation`: staff see any organisation, a contact person theirs;
    anyone else `not_found` (as for one that does not exist)."""

    organisation_id: uuid.UUID


class GetInvoiceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.get_invoice`: one invoice or credit note with its lines; staff, finance and
    admin see any, a contact person their organisations' (anyone else `not_found`)."""

    invoice_id: uuid.UUID
