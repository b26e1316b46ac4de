"""The printable receipt's lines in the receipt's language (issue 17: they stayed Finnish)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.cart.orders.receipts import _eur, line_text, paid_with
from shared.contracts.cart import AccountingDimensions, OrderLineSnapshot, OrderLineView

DIMS = AccountingDimensions(
    company_code="1000", gl_account="320000", profit_centre="PC1", vat_code="A1"
)
HALL = {"fi": "Pääsali", "sv": "Huvudsal", "en": "Main hall"}
UNIT = {"fi": "Impivaaran urheilutalo", "sv": "Impivaara idrottshus", "en": "Impivaara hall"}
MAP = {"fi": "Ortoilmakuva", "sv": "Ortofoto", "en": "Orthophoto"}


def line(kind: Any, description: str, details: dict[str, object]) -> OrderLineView:
    snapshot = OrderLineSnapshot(
        line_id=uuid.uuid4(),
        kind=kind,
        reference="r",
        description=description,
        merchant_id="m",
        cost_centre="c",
        gross_cents=100,
        net_cents=90,
        vat_cents=10,
        vat_rate_bp=1000,
        accounting=DIMS,
    )
    return OrderLineView(line=snapshot, state="fulfilled", details=details)


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_reservation_line_names_its_place_in_the_receipts_language_and_its_time(
    lang: str,
) -> None:
    booked = line(
        "reservation",
        "Pääsali, Impivaaran urheilutalo",
        {
            "resource_name": HALL,
            "unit_name": UNIT,
            "starts_at": "2026-07-01T09:00:00+00:00",  # 12:00 in Turku (summer time)
            "ends_at": "2026-07-01T11:00:00+00:00",
        },
    )
    assert line_text(booked, lang) == f"{HALL[lang]}, {UNIT[lang]} 01.07.2026 12:00–14:00"


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_gis_line_names_its_product_in_the_receipts_language_with_its_format(
    lang: str,
) -> None:
    sold = line("gis_product", "Ortoilmakuva (GeoTIFF, ETRS-GK23)", {"product_name": MAP})
    assert line_text(sold, lang) == f"{MAP[lang]} (GeoTIFF, ETRS-GK23)"


def test_other_lines_and_lines_without_names_keep_the_sellers_description() -> None:
    debit = line("library_debit", "Myöhästymismaksu", {})
    assert line_text(debit, "sv") == "Myöhästymismaksu"
    old = line("reservation", "Pääsali, Impivaaran urheilutalo", {})  # sold before the names
    assert line_text(old, "en") == "Pääsali, Impivaaran urheilutalo"


@pytest.mark.parametrize(
    ("locale", "written"),
    [("fi", "1\u00a0234,50\u00a0€"), ("sv", "1\u00a0234,50\u00a0€"), ("en", "€1,234.50"),
     ("xx", "1\u00a0234,50\u00a0€")],
)  # fmt: skip
def test_a_receipt_writes_euros_as_its_language_does(locale: str, written: str) -> None:
    """Thousands grouped and '€' held to its number by a no-break space (it wrote '1234,50 €'
    with a plain space, the euro sign alone at the start of a line in a narrow cell)."""
    assert _eur(123450, locale) == written


@pytest.mark.parametrize(
    ("provider", "method", "locale", "said"),
    [("desk", "cash", "fi", "Käteinen (asiointipiste)"),
     ("desk", "card", "sv", "Kort (servicepunkt)"), ("desk", None, "en", "Service point"),
     ("stripe", None, "fi", "Maksukortti (Stripe)"), ("acme", None, "en", "acme"),
     (None, None, "fi", "")],
)  # fmt: skip
def test_the_receipt_names_how_the_order_was_paid(
    provider: str | None, method: str | None, locale: str, said: str
) -> None:
    assert paid_with(provider, method, locale) == said
