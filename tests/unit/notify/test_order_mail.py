"""The order mails' pure parts: every text in the fi and sv catalogues, the receipt's totals
and VAT per rate written in each language, one department or none."""

from __future__ import annotations

import uuid

import pytest
from babel.messages.pofile import read_po

from services.notify.order_mail import TEXTS, line_name, named, receipt_of, vat_rate
from services.notify.orders import one_merchant
from services.notify.texts import CATALOGUES, Language, load
from shared.contracts.cart import AccountingDimensions, OrderLineSnapshot, OrderLineView

LINES = [
    {"description": "Sali", "quantity": 1, "gross_cents": 2510, "net_cents": 2000,
     "vat_cents": 510, "vat_rate_bp": 2550},
    {"description": "Kartta", "quantity": 2, "gross_cents": 1140, "net_cents": 1000,
     "vat_cents": 140, "vat_rate_bp": 1400},
    {"description": "Laina", "quantity": 1, "gross_cents": 300, "net_cents": 300,
     "vat_cents": 0, "vat_rate_bp": 0},
]  # fmt: skip


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_every_order_text_is_translated(lang: str) -> None:
    with (CATALOGUES / lang / "LC_MESSAGES" / "notify.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    translated = {m.id: m.string for m in catalog if m.id}
    assert [t for t in TEXTS if not translated.get(t)] == []


def test_the_receipt_sums_the_lines_and_the_vat_of_each_rate() -> None:
    texts = load()
    fi = receipt_of(LINES, Language("fi", texts["fi"], "Europe/Helsinki"))
    assert fi.head == ("Tuote", "ALV", "Hinta")
    assert fi.lines == [
        ("Sali", "25,5\xa0%", "25,10\xa0€"),
        ("Kartta × 2", "14\xa0%", "11,40\xa0€"),
        ("Laina", "0\xa0%", "3,00\xa0€"),
    ]
    assert fi.totals == [
        ("Yhteensä", "39,50\xa0€"),
        ("ALV 25,5\xa0%", "5,10\xa0€"),
        ("ALV 14\xa0%", "1,40\xa0€"),
        ("ALV 0\xa0%", "0,00\xa0€"),
        ("Veroton", "33,00\xa0€"),
    ]
    en = receipt_of(LINES, Language("en", texts["en"], "Europe/Helsinki"))
    assert en.totals[0] == ("Total", "€39.50")
    assert en.totals[1] == ("VAT 25.5%", "€5.10")  # CLDR: no space in English
    sv = receipt_of(LINES, Language("sv", texts["sv"], "Europe/Helsinki"))
    assert sv.totals[-1] == ("Utan moms", "33,00\xa0€")


def test_vat_rates_as_each_language_writes_them() -> None:
    texts = load()
    assert vat_rate(2550, Language("sv", texts["sv"], "UTC")) == "25,5"
    assert vat_rate(2400, Language("en", texts["en"], "UTC")) == "24"


def test_a_message_about_several_departments_lines_comes_from_none() -> None:
    assert one_merchant(["sports", "sports"]) == "sports"
    assert one_merchant(["sports", "library"]) == ""
    assert one_merchant([]) == ""


def _line(kind: str, description: str, details: dict[str, object]) -> OrderLineView:
    snapshot = OrderLineSnapshot(
        line_id=uuid.uuid4(), kind=kind, reference="r", description=description,
        merchant_id="sports", cost_centre="1510", gross_cents=5600, net_cents=4934,
        vat_cents=666, vat_rate_bp=1350,
        accounting=AccountingDimensions(
            company_code="1000", gl_account="324010", profit_centre="1510", vat_code="V135"
        ),
    )  # fmt: skip
    return OrderLineView(line=snapshot, state="paid", details=details)


def test_a_line_is_named_in_the_mails_language_and_as_sold_otherwise() -> None:
    sv = Language("sv", load()["sv"], "Europe/Helsinki")
    hall = _line(
        "reservation",
        "Pääsali, Impivaaran urheiluhalli",
        {
            "resource_name": {"fi": "Pääsali", "sv": "Huvudsal"},
            "unit_name": {"fi": "Impivaaran urheiluhalli"},  # no Swedish name: the Finnish
            "starts_at": "2026-12-08T05:00:00+00:00",
            "ends_at": "2026-12-08T06:00:00+00:00",
        },
    )
    assert (
        line_name(hall, sv) == "Huvudsal, Impivaaran urheiluhalli, tisdag 8 december 2026 7.00–8.00"
    )
    book = _line(
        "gis_product", "Opaskartta (PDF, ETRS-GK23)", {"product_name": {"sv": "Guidekarta"}}
    )
    assert line_name(book, sv) == "Guidekarta (PDF, ETRS-GK23)"
    fee = _line("library_debit", "Myöhästymismaksu", {})
    assert line_name(fee, sv) == ""  # the library's own words stay

    sold = {"line_id": str(fee.line.line_id), "description": "Myöhästymismaksu"}
    assert named(sold, {}) == sold  # cart did not answer: as sold
    renamed = named(sold, {str(fee.line.line_id): "Förseningsavgift"})
    assert renamed["description"] == "Förseningsavgift"
