"""Invoicing rules as pure functions: the business ID, the reference number (viitenumero),
due dates, what an invoice still waits for, and the bank's payment file.

python-stdnum has the Y-tunnus (`stdnum.fi.ytunnus`) but not the viitenumero (its `fi`
package: alv, associationid, hetu, veronumero, ytunnus), so the 7-3-1 check digit is here.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum.exceptions import ValidationError
from stdnum.fi import ytunnus

from shared.contracts.invoicing import InvoiceLine, InvoicePaymentRow
from shared.errors import Forbidden, ValidationFailed

_WEIGHTS = (7, 3, 1)
# Invoice references: this prefix + the invoice number + the check digit (order references
# from cart start with the year, 20xx: an invoice's never looks like an order's).
REFERENCE_PREFIX = "9"


def business_id(value: str, field: str = "business_id") -> str:
    """The Y-tunnus in its standard form (`1234567-8`), or `validation_failed` naming it."""
    try:
        return str(ytunnus.format(ytunnus.validate(value)))
    except ValidationError as exc:
        raise ValidationFailed(
            f"not a valid Finnish business ID (Y-tunnus): {exc}", field=field
        ) from None


def check_invoiceable_at_desk(
    booked_for: Iterable[uuid.UUID | None], organisation_id: uuid.UUID
) -> None:
    """At the service desk an order is invoiced to an organisation only when every line of
    it was booked (and priced) for that organisation: a private customer pays at the desk or
    by a payment link (`validation_failed`), another organisation's order is invoiced to that
    one (`forbidden`); both name `organisation_id`."""
    found = list(booked_for)
    if not found or None in found:
        raise ValidationFailed(
            "the order was booked for a private customer: only an order booked for an "
            "organisation is invoiced (take the payment at the desk or send a payment link)",
            field="organisation_id",
            reason="private_customer",
        )
    if any(org != organisation_id for org in found):
        raise Forbidden(
            "the order was booked for another organisation (and priced for it): invoice it "
            "to that one",
            field="organisation_id",
        )


def check_digit(base: str) -> int:
    """The viitenumero's check digit: the base's digits weighted 7, 3, 1, 7, ... from the
    right; the check digit takes the sum up to the next ten (0 when it is one)."""
    if not base.isdigit() or not 3 <= len(base) <= 19:
        raise ValueError("a reference number's base is 3-19 digits")
    total = sum(int(d) * _WEIGHTS[i % 3] for i, d in enumerate(reversed(base)))
    return (10 - total % 10) % 10


def reference_number(invoice_number: int) -> str:
    base = f"{REFERENCE_PREFIX}{invoice_number:06d}"
    return f"{base}{check_digit(base)}"


def is_valid_reference(reference: str) -> bool:
    digits = reference.replace(" ", "")
    if not digits.isdigit() or not 4 <= len(digits) <= 20:
        return False
    return check_digit(digits[:-1]) == int(digits[-1])


def normal_reference(reference: str) -> str:
    """As the bank writes it, grouped or not: digits only, leading zeros dropped."""
    return reference.replace(" ", "").lstrip("0")


def due_date(invoice_date: date, terms_days: int) -> date:
    """`terms_days` net; a due date on a weekend moves to the Monday after."""
    due = invoice_date + timedelta(days=terms_days)
    while due.weekday() >= 5:
        due += timedelta(days=1)
    return due


# The ERP export's row types of invoices: beside `sale` and `refund` of card payments.
ERP_KINDS = {"sale": "invoice", "refund": "credit_note"}


def erp_kind(kind: str, provider: str) -> str:
    """A ledger entry's row type in the ERP export: an invoice's sale is `invoice`, its
    refund a `credit_note`; card payments keep theirs."""
    return ERP_KINDS.get(kind, kind) if provider == "invoice" else kind


def is_overdue(kind: str, state: str, open_cents: int, due: date, today: date) -> bool:
    return kind == "invoice" and state == "open" and open_cents > 0 and due < today


@dataclass(frozen=True)
class Split:
    """A line's part of a refund (from the refund's splits): gross and VAT, positive."""

    line_id: str
    gross_cents: int
    vat_cents: int


def credit_lines(original: Sequence[InvoiceLine], splits: Iterable[Split]) -> list[InvoiceLine]:
    """A credit note's lines: each refunded part of an original line, negative."""
    by_id = {str(line.line_id): line for line in original}
    lines = []
    for split in splits:
        line = by_id.get(split.line_id)
        if line is None or split.gross_cents <= 0:
            continue
        lines.append(
            InvoiceLine(
                line_id=line.line_id,
                description=line.description,
                merchant_id=line.merchant_id,
                cost_centre=line.cost_centre,
                vat_rate_bp=line.vat_rate_bp,
                gross_cents=-split.gross_cents,
                vat_cents=-split.vat_cents,
                net_cents=-(split.gross_cents - split.vat_cents),
                company_code=line.company_code,
                gl_account=line.gl_account,
                profit_centre=line.profit_centre,
                internal_order=line.internal_order,
                vat_code=line.vat_code,
            )
        )
    return lines


def _cents(text: str, row: int) -> int:
    """Euros as the bank writes them (`123.45`, `123,45`, `1 234,50`) in cents."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    whole, _, fraction = cleaned.partition(".")
    if not whole.isdigit() or not (fraction.isdigit() or fraction == "") or len(fraction) > 2:
        raise ValidationFailed(f"row {row}: amount {text!r} is not euros", field="csv")
    return int(whole) * 100 + int(fraction.ljust(2, "0") or 0)


def parse_payment_file(content: str) -> list[InvoicePaymentRow]:
    """The bank's payments as `reference_number;amount;paid_on` (`,` also separates; a header
    row is skipped; amount in euros, date ISO `2026-12-06` or Finnish `6.12.2026`)."""
    first = content.strip().splitlines()[0] if content.strip() else ""
    delimiter = ";" if ";" in first or "," not in first else ","
    rows = []
    reader = csv.reader(io.StringIO(content.strip()), delimiter=delimiter)
    for number, cells in enumerate(reader, start=1):
        if not cells or not "".join(cells).strip():
            continue
        if number == 1 and not cells[0].replace(" ", "").isdigit():
            continue  # a header
        if len(cells) != 3:
            raise ValidationFailed(
                f"row {number}: expected reference_number;amount;paid_on", field="csv"
            )
        reference, amount, day = (c.strip() for c in cells)
        if not reference.replace(" ", "").isdigit():
            raise ValidationFailed(f"row {number}: reference {reference!r}", field="csv")
        rows.append(
            InvoicePaymentRow(
                reference_number=reference,
                amount_cents=_cents(amount, number),
                paid_on=_day(day, number),
            )
        )
    return rows


def _day(text: str, row: int) -> date:
    try:
        if "." in text:
            d, m, y = (int(part) for part in text.split("."))
            return date(y, m, d)
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"row {row}: date {text!r}", field="csv") from None
