"""Invoicing rules: the business ID, the viitenumero's 7-3-1 check digit, due dates, the ERP
row types of invoices, credit-note lines and the bank's payment file."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.payment.domain.invoices import (
    Split,
    business_id,
    check_digit,
    check_invoiceable_at_desk,
    credit_lines,
    due_date,
    erp_kind,
    is_overdue,
    is_valid_reference,
    normal_reference,
    parse_payment_file,
    reference_number,
)
from services.payment.invoicing import billed_lines
from shared.contracts.invoicing import InvoiceLine
from shared.errors import Forbidden, ValidationFailed
from tests.unit.payment.test_domain import line


# Reference numbers given as valid examples (1232, 1234561, 12345672 in the Finnish banks'
# guides; 1009): each is its base followed by its 7-3-1 check digit.
@pytest.mark.parametrize("reference", ["1232", "1234561", "12345672", "1009"])
def test_known_valid_reference_numbers_have_their_check_digit(reference: str) -> None:
    assert check_digit(reference[:-1]) == int(reference[-1])
    assert is_valid_reference(reference)


def test_a_wrong_check_digit_or_a_short_number_is_not_a_reference() -> None:
    assert not is_valid_reference("1233")
    assert not is_valid_reference("123")  # a base is at least 3 digits
    assert not is_valid_reference("12a2")
    assert is_valid_reference("123 4561")  # as banks group them


def test_invoice_references_are_valid_unique_and_never_look_like_an_order_reference() -> None:
    refs = [reference_number(n) for n in (1, 2, 999_999, 1_000_000)]
    assert all(is_valid_reference(r) for r in refs)
    assert len(set(refs)) == 4
    assert all(r.startswith("9") for r in refs)  # order references start with the year
    assert normal_reference("0009 0000 14") == "9000014"


def test_the_business_id_is_checked_with_its_check_digit() -> None:
    assert business_id("2077474-0") == "2077474-0"
    assert business_id(" 2077474-0 ") == "2077474-0"
    with pytest.raises(ValidationFailed) as wrong:
        business_id("2077474-1")
    assert wrong.value.field == "business_id"
    with pytest.raises(ValidationFailed):
        business_id("not an id")


def test_due_date_is_net_days_moved_off_the_weekend() -> None:
    assert due_date(date(2026, 12, 1), 14) == date(2026, 12, 15)  # a Tuesday
    assert due_date(date(2026, 12, 5), 14) == date(2026, 12, 21)  # Sat 19th -> Mon 21st
    assert is_overdue("invoice", "open", 100, date(2026, 12, 1), date(2026, 12, 2))
    assert not is_overdue("invoice", "open", 100, date(2026, 12, 2), date(2026, 12, 2))
    assert not is_overdue("invoice", "paid", 100, date(2026, 12, 1), date(2026, 12, 2))
    assert not is_overdue("invoice", "open", 0, date(2026, 12, 1), date(2026, 12, 2))
    assert not is_overdue("credit_note", "open", 100, date(2026, 12, 1), date(2026, 12, 2))


def test_invoices_are_their_own_row_types_in_the_erp_export() -> None:
    assert erp_kind("sale", "invoice") == "invoice"
    assert erp_kind("refund", "invoice") == "credit_note"
    assert erp_kind("sale", "stripe") == "sale"
    assert erp_kind("refund", "local") == "refund"


def test_a_credit_note_negates_the_refunded_parts_of_the_lines() -> None:
    line_id = uuid.uuid4()
    line = InvoiceLine(
        line_id=line_id,
        description="Sports hall",
        merchant_id="sports",
        cost_centre="SPORTS",
        vat_rate_bp=1000,
        gross_cents=5500,
        vat_cents=500,
        net_cents=5000,
        company_code="0853",
        gl_account="320010",
        profit_centre="P1",
        vat_code="S1",
    )
    (credit,) = credit_lines([line], [Split(str(line_id), 2200, 200), Split("other", 1, 0)])
    assert (credit.gross_cents, credit.vat_cents, credit.net_cents) == (-2200, -200, -2000)
    assert credit.gl_account == "320010"


def test_the_banks_payment_file_is_read_with_either_separator_and_date_format() -> None:
    rows = parse_payment_file(
        "viite;summa;pvm\n90000014;55,00;6.12.2026\n1232;1 234.5;2026-12-07\n"
    )
    assert [(r.reference_number, r.amount_cents, r.paid_on) for r in rows] == [
        ("90000014", 5500, date(2026, 12, 6)),
        ("1232", 123450, date(2026, 12, 7)),
    ]
    (comma,) = parse_payment_file("90000014,55.00,2026-12-06")
    assert comma.amount_cents == 5500


@pytest.mark.parametrize(
    "content",
    [
        "90000014;55,00",
        "90000014;abc;2026-12-06",
        "90000014;5;32.13.2026",
        "x1;5;2026-12-06\n9;5;x",
    ],
)
def test_a_bad_payment_file_row_is_refused_naming_the_file(content: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_payment_file(content)
    assert refused.value.field == "csv"


def test_the_invoice_is_always_built_but_never_the_online_provider() -> None:
    from services.payment.providers.invoice import InvoiceProvider
    from services.payment.providers.registry import build_providers, provider_class
    from services.payment.settings import PaymentSettings

    assert provider_class("invoice") is InvoiceProvider
    built = build_providers(PaymentSettings(), None, production=False)  # type: ignore[arg-type]
    assert set(built) == {"local", "invoice", "desk"}
    with pytest.raises(ValueError, match="not an online payment provider"):
        build_providers(PaymentSettings(provider="invoice"), None, production=False)  # type: ignore[arg-type]


def test_the_desk_invoices_only_an_order_booked_wholly_for_the_organisation() -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    check_invoiceable_at_desk([org, org], org)
    for private in ([None], [org, None], []):  # a private customer's line, or nothing
        with pytest.raises(ValidationFailed) as refused:
            check_invoiceable_at_desk(private, org)
        assert refused.value.field == "organisation_id"
        assert refused.value.details["reason"] == "private_customer"
    with pytest.raises(Forbidden) as elsewhere:
        check_invoiceable_at_desk([other], org)
    assert elsewhere.value.field == "organisation_id"


def test_a_season_month_bills_what_late_cancellations_keep() -> None:
    confirmed, early, late, listed_kept = (line(1800, 214) for _ in range(4))
    gone = {early.line_id: 0, late.line_id: 900, listed_kept.line_id: 900}
    kept = frozenset({listed_kept.line_id})  # booking listed it for the kept part already
    billed = billed_lines([confirmed, early, late, listed_kept], gone, kept)
    assert [(x.line_id, x.gross_cents) for x in billed] == [
        (confirmed.line_id, 1800),  # billed in full
        (late.line_id, 900),  # heard cancelled late since booking listed it: the kept half
        (listed_kept.line_id, 1800),  # as booking listed it
    ]  # the early one left out
    half = billed[1]
    assert (half.vat_cents, half.net_cents) == (107, 793)  # VAT in the line's proportion
