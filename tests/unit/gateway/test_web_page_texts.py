"""What pages say comes from the catalogues in the page's language, never a service's English
or a code: a debit that cannot be paid online, a merchant in the cart, an order line's state,
a GIS licence type on the staff catalogue."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import get_args

import pytest

from services.cart.domain.model import LineState
from services.gateway.web import i18n
from services.gateway.web.render import HELSINKI, expiry_time, merchant_name, percent
from services.gateway.web.resident import reservation_row
from services.gateway.web.shop import cart_row
from shared.contracts import booking as bk
from shared.contracts import cart as ct
from shared.contracts import desk as dk
from shared.contracts import payment as pm
from tests.unit.gateway.web_page import render

NOT_PAYABLE = {
    "fi": "tätä maksua ei voi maksaa verkossa; ota yhteyttä kirjastoon",
    "sv": "avgiften kan inte betalas på nätet; kontakta biblioteket",
    "en": "this charge cannot be paid online; please contact the library",
}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_debit_that_cannot_be_paid_online_says_so_in_the_pages_language(lang: str) -> None:
    debit = ct.LibraryDebit(
        account_line_id=7, debit_type="LOST_DISPUTED", description="Kadonnut (kiistetty)",
        amount_outstanding_cents=1800, payable=False, state="not_payable",
        reason="this charge cannot be paid online; please contact the library",
    )  # fmt: skip
    debits = ct.LibraryDebits(debits=[debit], payable_total_cents=0, minimum_payable_cents=0)
    html = render("library.html", lang, debits=debits, key="k")
    assert f"({NOT_PAYABLE[lang]})" in html
    if lang != "en":
        assert NOT_PAYABLE["en"] not in html


FEE_TYPE = {"sv": "Förseningsavgift", "en": "Overdue fine"}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_library_fee_is_named_by_its_type_in_the_pages_language(lang: str) -> None:
    """Koha describes a fee in Finnish ("Myöhästymismaksu: Tuntematon sotilas"): a Swedish or
    English page names its type in its language first, the library's words marked Finnish;
    a type the catalogues do not know keeps the library's words alone."""
    overdue = ct.LibraryDebit(
        account_line_id=1, debit_type="OVERDUE", description="Myöhästymismaksu: Tuntematon sotilas",
        amount_outstanding_cents=240, payable=True,
    )  # fmt: skip
    own = ct.LibraryDebit(
        account_line_id=2, debit_type="LOST_DISPUTED", description="Kadonnut (kiistetty)",
        amount_outstanding_cents=1800, payable=False, state="not_payable",
    )  # fmt: skip
    debits = ct.LibraryDebits(debits=[overdue, own], payable_total_cents=240,
                              minimum_payable_cents=0)  # fmt: skip
    html = render("library.html", lang, debits=debits, key="k")
    if lang == "fi":
        assert '<label for="debit-1">Myöhästymismaksu: Tuntematon sotilas · ' in html
    else:
        said = f'{FEE_TYPE[lang]} – <span lang="fi">Myöhästymismaksu: Tuntematon sotilas</span>'
        assert f'<label for="debit-1">{said} · ' in html
    assert '<label for="debit-2">Kadonnut (kiistetty) · ' in html


CART_MERCHANT = {"fi": "Liikuntapalvelut", "sv": "Idrottstjänster", "en": "Sports services"}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_carts_merchant_is_named_in_the_pages_language_as_on_the_receipt(lang: str) -> None:
    line = ct.CartLineView(
        line_id=uuid.uuid4(), kind="reservation", reference="r1", description="Simbana 1",
        merchant_id="sports", quantity=1, gross_cents=650, net_cents=573, vat_cents=77,
        vat_rate_bp=1350, details={},
    )  # fmt: skip
    rows = [cart_row(line, {"sports": "Liikuntapalvelut"})]  # cart names it in Finnish
    html = render(
        "cart.html",
        lang,
        lines=rows,
        vat=[],
        cart={"net_cents": 573, "vat_cents": 77, "total_cents": 650},
        messages=[],
        key="k",
    )
    assert f'<td class="wide-only">{CART_MERCHANT[lang]}</td>' in html
    if lang != "fi":
        assert "Liikuntapalvelut" not in html


def test_a_merchant_the_catalogues_do_not_know_keeps_the_services_name() -> None:
    assert merchant_name("harbour", "sv", "Satamapalvelut") == "Satamapalvelut"
    assert merchant_name("harbour", "sv") == "harbour"
    assert merchant_name("gis", "sv", "Kaupunkimittaus") == "Stadsmätning"


ORDER_AND_LINE_STATES = sorted(set(get_args(LineState)) | set(get_args(ct.OrderState)))


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
@pytest.mark.parametrize("state", ORDER_AND_LINE_STATES)
def test_every_order_and_line_state_has_a_word_in_each_language(state: str, lang: str) -> None:
    """Receipts and orders show `state(l.state)`: a state without a text showed its code
    ("queued", "refund_requested")."""
    assert i18n.known(f"state_{state}"), state
    word = i18n.t(lang, f"state_{state}")
    assert word != state
    assert "_" not in word


LICENCES = {
    "fi": "Sisäiseen käyttöön, Kaupalliseen käyttöön, CC BY 4.0",
    "sv": "För internt bruk, För kommersiellt bruk, CC BY 4.0",
    "en": "Internal use, Commercial use, CC BY 4.0",
}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_staff_gis_catalogue_names_licence_types_in_the_pages_language(lang: str) -> None:
    product = {
        "id": "ortho", "name_fi": "Ortokuva", "formats": ["GeoTIFF"], "active": True,
        "licences": [{"type": "internal_use"}, {"type": "commercial"}, {"type": "CC BY 4.0"}],
        "pricing": {"kind": "area", "base_fee_cents": 3000}, "file": None,
    }  # fmt: skip
    html = render("staff/gis.html", lang, products=[product], queue=[], key="k")
    licence = i18n.t(lang, "licence")  # the cell's label on the card it is at 390 px
    assert f'<td data-label="{licence}">{LICENCES[lang]}</td>' in html
    assert "internal_use" not in html


def _held_cart(lang: str, expires_at: str, vat_rate_bp: int = 1350) -> str:
    line = ct.CartLineView(
        line_id=uuid.uuid4(), kind="reservation", reference="r1", description="Simbana 1",
        merchant_id="sports", quantity=1, gross_cents=650, net_cents=573, vat_cents=77,
        vat_rate_bp=vat_rate_bp, details={"expires_at": expires_at},
    )  # fmt: skip
    return render(
        "cart.html",
        lang,
        lines=[cart_row(line, {})],
        vat=[{"vat_rate_bp": vat_rate_bp, "net_cents": 573, "vat_cents": 77, "gross_cents": 650}],
        cart={"net_cents": 573, "vat_cents": 77, "total_cents": 650},
        messages=[],
        key="k",
    )


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_hold_ending_on_another_day_shows_its_date(lang: str) -> None:
    """An approved request waits for payment up to 72 hours: "07:00" alone would be wrong."""
    later = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    html = _held_cart(lang, later.isoformat())
    shown = later.astimezone(HELSINKI).strftime("%d.%m.%Y %H:%M")
    assert f'<time datetime="{later.isoformat()}">{shown}</time>' in html
    assert f'data-hours="{"t" if lang == "fi" else "h"}"' in html  # the countdown's hours


def test_a_hold_ending_today_shows_its_clock_time() -> None:
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert expiry_time((now + timedelta(minutes=15)).isoformat(), now) == "12:15"
    assert expiry_time((now + timedelta(hours=72)).isoformat(), now) == "10.12.2026 12:00"
    assert expiry_time("2026-12-07T22:30:00+00:00", now) == "08.12.2026 00:30"  # Turku's day


VAT_RATE = {"fi": "13,5\u00a0%", "sv": "13,5\u00a0%", "en": "13.5%"}  # CLDR: "13.5%" in English


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_vat_rate_is_written_as_the_pages_language_writes_it(lang: str) -> None:
    html = _held_cart(lang, "2026-12-07T10:00:00+00:00")
    assert f"<td>{VAT_RATE[lang]}</td>" in html  # the VAT breakdown
    assert f'<td class="wide-only">{VAT_RATE[lang]}</td>' in html  # the line
    sign = "%" if lang == "en" else "\u00a0%"
    assert percent(2400, lang) == f"24{sign}"
    assert percent(1000, lang) == f"10{sign}"
    assert percent(2550, lang) == ("25.5%" if lang == "en" else "25,5\u00a0%")


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_desk_receipt_writes_a_vat_rate_as_the_other_pages_do(lang: str) -> None:
    """The service desk's receipt wrote a whole rate as "24.0 %" (and "24,0 %")."""
    lines = [
        dk.DeskReceiptLine(
            description="Pääsali", quantity=1, gross_cents=3100, vat_rate_bp=2400, vat_cents=600
        ),
        dk.DeskReceiptLine(
            description="Opaskartta", quantity=1, gross_cents=1200, vat_rate_bp=2550, vat_cents=244
        ),
    ]
    receipt = dk.DeskReceipt(
        payment_id=uuid.uuid4(), order_id=uuid.uuid4(), order_number="2026-000001",
        customer="desk:1", amount_cents=4300, vat_cents=844, method="card", register_id="K1",
        clerk="clerk-sports", paid_at=datetime(2026, 12, 7, 10, 0, tzinfo=UTC), lines=lines,
    )  # fmt: skip
    html = render("staff/desk_receipt.html", lang, receipt=receipt)
    assert f"{percent(2400, lang)}: " in html  # 24 % / 24%
    assert f"{percent(2550, lang)}: " in html  # 25,5 % / 25.5%
    assert "24.0" not in html
    assert "24,0" not in html


def _reservation(state: str, reason: str | None = None) -> bk.ReservationView:
    starts = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
    return bk.ReservationView(
        reservation_id=uuid.uuid4(), resource_id=uuid.uuid4(), unit_id=uuid.uuid4(),
        customer="resident-turku", state=state, starts_at=starts,  # type: ignore[arg-type]
        ends_at=starts + timedelta(hours=2), places=1, expires_at=None, gross_cents=35000,
        net_cents=35000, vat_cents=0, vat_rate_bp=0, merchant_id="culture", reason=reason,
    )  # fmt: skip


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_only_a_reservation_that_takes_place_offers_the_calendar(lang: str) -> None:
    """A denied, cancelled, expired or released one is not going to happen; a denied one
    says why, in the words staff gave (the resident asked and was told no)."""
    gone = ("denied", "cancelled", "expired", "released")
    views = [_reservation(s, "Sali on remontissa" if s == "denied" else None) for s in gone]
    views += [_reservation(s) for s in ("confirmed", "requested", "held")]
    rows = [reservation_row(v, {}) for v in views]
    html = render("reservations.html", lang, reservations=rows, refund=None)
    for view in views:
        has_calendar = f'href="/reservations/{view.reservation_id}/ics"' in html
        assert has_calendar == (view.state not in gone), view.state
    denied = views[0]
    reason = i18n.t(lang, "reason")
    assert f'data-reason="{denied.reservation_id}">{reason}: Sali on remontissa</span>' in html
    assert html.count("data-reason=") == 1


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_reservations_actions_are_apart(lang: str) -> None:
    """'Add to calendar', 'Pay' and 'Cancel' are separate links, not one run of words: the
    templates trim the whitespace between block tags, and the links were written back to back
    ('Lägg till i kalendernAvboka', found at 390 and 1280 px); they now sit in one .inline box
    (a flex row with a gap, wrapping)."""
    views = [_reservation(s) for s in ("confirmed", "requested", "held")]
    rows = [reservation_row(v, {}) for v in views]
    html = render("reservations.html", lang, reservations=rows, refund=None)
    for view in views:
        rid = view.reservation_id
        cell = html.split(f'data-actions="{rid}"', 1)[1].split("</td>", 1)[0]
        assert cell.startswith(">"), "the actions are in one element"
        assert f'<div class="inline" data-actions="{rid}">' in html
        assert f'href="/reservations/{rid}/ics"' in cell
        assert f'href="/reservations/{rid}/cancel"' in cell
    assert "</a><a" not in html


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_percent_sign_stays_on_the_line_of_its_number(lang: str) -> None:
    """The cancellation terms broke as "därefter 50 / %" at 390 px: a plain space before "%".
    English writes "50%" (CLDR's pattern), Finnish and Swedish "50 %" with a no-break space."""
    said = i18n.t(lang, "cancel_policy_text").format(hours=24, percent=50)
    assert ("50%," if lang == "en" else "50\u00a0%") in said
    assert " %" not in said


def test_the_settlements_heading_writes_its_day_as_the_other_pages_do() -> None:
    """It wrote "Redovisning 2026-12-06" where every other page writes 06.12.2026."""
    report = pm.SettlementReport(
        day=date(2026, 12, 6), merchant_id="sports", rows=[], gross_cents=0, vat_cents=0,
        net_cents=0, refunded_cents=0, fee_cents=0, payable_cents=0, payments=0, csv="",
    )  # fmt: skip
    html = render("staff/finance.html", "sv", day="2026-12-06", merchant="sports",
                  merchants=["sports"], report=report, anomalies=[], key="k")  # fmt: skip
    heading = html.split('id="settlement-title">', 1)[1].split("</h2>", 1)[0]
    assert "06.12.2026" in heading
    assert "2026-12-06" not in heading
