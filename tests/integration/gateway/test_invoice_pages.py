"""The organisation and invoice pages (issue 19) over plain HTTP with the real cart and payment
services: staff create and change an organisation on the form, each bad field answered beside
it (in the page's language, input kept, nothing saved); finance lists invoices (open, paid,
overdue), opens one (lines with VAT, reference, due date), imports the bank's file (a wrong
amount shown as an anomaly, a bad file on the form) and credits lines after a confirmation; a
contact person sees their organisation's invoices (the menu links to them), another resident
does not (no link in the menu; the page refuses them)."""

# ruff: noqa: F811 - the fixtures are imported from the desk and invoicing route tests

from __future__ import annotations

import re
import uuid
from typing import Any

import asyncpg
import pytest

from services.gateway.web import invoices
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.test_desk import db  # noqa: F401 - fixture
from tests.integration.gateway.test_invoicing_routes import (  # noqa: F401 - suite: fixture
    ORGANISATION,
    order_of,
    suite,
)

pytestmark = pytest.mark.timeout(120)

FORM = {
    "name": "Turun Palloseura ry",
    "business_id": "0204819-8",
    "customer_group": "association",
    "street": "Urheilupuistonkatu 2",
    "postal_code": "20100",
    "city": "Turku",
    "country": "FI",
    "einvoice_address": "003702048198",
    "einvoice_operator": "003723327487",
    "contact_persons": "demo:resident-turku\ndemo:resident-kaarina",
}
# One bad field at a time: (field, value, the field the error is shown beside, a word of the
# Finnish message).
BAD = [
    # python-stdnum's reason shown in the page's words
    ("business_id", "0204819-7", "business_id", "tarkistusnumero ei täsmää"),
    ("business_id", "12345", "business_id", "väärä määrä numeroita"),
    ("business_id", "02048a9-8", "business_id", "väärää muotoa"),
    ("business_id", "", "business_id", "väärää muotoa"),
    ("name", "", "name", "Kirjoita nimi"),
    ("customer_group", "club", "customer_group", "Valitse asiakasryhmä"),
    ("street", "", "street", "katuosoite"),
    ("postal_code", "!!", "postal_code", "postinumero"),
    ("city", "", "city", "postitoimipaikka"),
    ("country", "FIN", "country", "maatunnus"),
    ("einvoice_operator", "", "einvoice_operator", "operaattori"),
    ("einvoice_address", "bad address!", "einvoice_address", "verkkolaskuosoite"),
    ("contact_persons", "demo:a\tb", "contact_persons", "yhteyshenkilöt"),
]


async def sign_in(client: GatewayClient, user: str) -> None:
    signed_in = await client.post("/dev-issuer/sign-in", data={"user": user, "next": "/"})
    assert signed_in.status_code == 303, signed_in.text


def error_on(html: str) -> tuple[str, str]:
    """(the field the error summary names, the message beside the field)."""
    summary = re.search(r'class="error error-summary"[^>]*data-field="([^"]*)"', html)
    beside = re.search(r'<p class="field-error" id="error-([^"]+)">(.*?)</p>', html, re.S)
    assert summary, html[:3000]
    assert beside, html[:3000]
    assert summary.group(1) == beside.group(1)
    return summary.group(1), beside.group(2)


async def organisation_count(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM payment.organisations"))


async def test_staff_create_and_change_an_organisation_on_the_form(
    suite: GatewayClient, db: asyncpg.Connection
) -> None:
    client = suite
    await sign_in(client, "clerk-sports")
    listed = await client.get("/staff/organisations", params={"lang": "fi"})
    assert listed.status_code == 200, listed.text
    assert "Ei organisaatioita." in listed.text
    menu = await client.get("/staff", params={"lang": "fi"})
    assert 'href="/staff/organisations"' in menu.text
    assert 'href="/finance/invoices"' in menu.text
    form = await client.get("/staff/organisations/new", params={"lang": "en"})
    assert form.status_code == 200, form.text
    assert 'name="return_to" value="/staff/organisations/new?lang=en"' in form.text
    key = re.search(r'name="key" value="([0-9a-f]+)"', form.text)
    assert key

    created = await client.post(
        "/staff/organisations",
        data={**FORM, "key": key.group(1), "return_to": "/staff/organisations/new"},
    )
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert re.fullmatch(r"/staff/organisations/[0-9a-f-]{36}\?done=done_saved", location)
    shown = await client.get(location + "&lang=fi")
    assert shown.status_code == 200, shown.text
    assert "Tallennettu" in shown.text or 'role="status"' in shown.text
    for value in ("Turun Palloseura ry", "0204819-8", "003702048198", "demo:resident-kaarina"):
        assert value in shown.text
    assert '<option value="association" selected>' in shown.text
    assert await organisation_count(db) == 1
    organisation_id = location.split("/")[3].split("?")[0]

    listed = await client.get("/staff/organisations", params={"q": "0204819", "lang": "fi"})
    assert f'data-organisation="{organisation_id}"' in listed.text
    assert "Yhdistys" in listed.text

    changed = await client.post(
        "/staff/organisations",
        data={**FORM, "organisation_id": organisation_id, "name": "TPS ry", "key": "change-1"},
    )
    assert changed.status_code == 303, changed.text
    edit_page = f"/staff/organisations/{organisation_id}"
    assert "TPS ry" in (await client.get(edit_page)).text
    assert await organisation_count(db) == 1

    # Each bad field: back to the form, the error beside it in the page's language, the input
    # kept, nothing saved (neither a new organisation nor a change).
    for field, value, shown_on, words in BAD:
        refused = await client.post(
            "/staff/organisations",
            data={
                **FORM,
                "business_id": "2077474-0",
                field: value,
                "key": uuid.uuid4().hex,
                "return_to": "/staff/organisations/new?lang=fi",
            },
        )
        assert refused.status_code == 303, (field, refused.text)
        assert refused.headers["location"] == "/staff/organisations/new?lang=fi"
        again = await client.get("/staff/organisations/new", params={"lang": "fi"})
        assert error_on(again.text)[0] == shown_on, (field, error_on(again.text))
        assert words.lower() in error_on(again.text)[1].lower(), (field, error_on(again.text))
        assert f'href="#{shown_on}"' in again.text
        assert 'value="Urheilupuistonkatu 2"' in again.text or field == "street"
        assert 'aria-invalid="true"' in again.text
        assert await organisation_count(db) == 1, field
    # the same business ID as another organisation: a conflict, on the field
    refused = await client.post(
        "/staff/organisations",
        data={**FORM, "key": uuid.uuid4().hex, "return_to": "/staff/organisations/new?lang=sv"},
    )
    assert refused.status_code == 303, refused.text
    again = await client.get("/staff/organisations/new", params={"lang": "sv"})
    field, message = error_on(again.text)
    assert field == "business_id"
    assert "En annan organisation har redan detta FO-nummer." in message
    # a bad change of an existing one leaves it as it was
    bad_change = await client.post(
        "/staff/organisations",
        data={
            **FORM,
            "organisation_id": organisation_id,
            "name": "Muutettu",
            "postal_code": "?",
            "return_to": edit_page,
        },
    )
    assert bad_change.status_code == 303
    again = await client.get(edit_page)
    assert error_on(again.text)[0] == "postal_code"
    assert 'value="Muutettu"' in again.text  # the input kept ...
    name = await db.fetchval("SELECT name FROM payment.organisations")
    assert name == "TPS ry"  # ... and nothing changed
    # two bad fields at once: both named in the summary and beside their inputs
    two_bad = await client.post(
        "/staff/organisations",
        data={**FORM, "organisation_id": organisation_id, "street": "", "postal_code": "?",
              "language": "sv", "return_to": edit_page},
    )  # fmt: skip
    assert two_bad.status_code == 303
    again = await client.get(edit_page, params={"lang": "sv"})
    summary = again.text.split('class="error error-summary"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'href="#([^"]+)"', summary) == ["street", "postal_code"]
    assert 'id="error-street"' in again.text
    assert 'id="error-postal_code"' in again.text
    assert 'id="language-sv" name="language" value="sv" checked' in again.text  # kept
    assert await db.fetchval("SELECT language FROM payment.organisations") == "fi"
    # the invoices' language saved and shown
    to_swedish = await client.post(
        "/staff/organisations",
        data={**FORM, "organisation_id": organisation_id, "name": "TPS ry", "language": "sv",
              "key": "change-2"},
    )  # fmt: skip
    assert to_swedish.status_code == 303, to_swedish.text
    assert await db.fetchval("SELECT language FROM payment.organisations") == "sv"
    shown = await client.get(edit_page)
    assert 'id="language-sv" name="language" value="sv" checked' in shown.text

    await sign_in(client, "resident-turku")
    assert (await client.get("/staff/organisations")).status_code == 403
    posted = await client.post("/staff/organisations", data={**FORM, "key": "resident-1"})
    assert posted.status_code == 403
    assert await organisation_count(db) == 1


async def invoiced_order(client: GatewayClient, organisation_id: str) -> dict[str, Any]:
    """An order of the contact person (resident-turku) invoiced to the organisation."""
    contact = await bearer(client, "resident-turku")
    order = await order_of(client, contact)
    invoiced = await client.post(
        f"/api/v1/orders/{order['order_id']}/invoice",
        json={"method": "invoice", "organisation_id": organisation_id},
        headers=contact,
    )
    assert invoiced.status_code == 201, invoiced.text
    mine = (await client.get("/api/v1/invoices", headers=contact)).json()["invoices"]
    [invoice] = [i for i in mine if i["order_id"] == order["order_id"]]
    return dict(invoice)


def euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


async def test_finance_follows_marks_paid_and_credits_invoices(
    suite: GatewayClient, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    created = await client.post("/api/v1/organisations", json=ORGANISATION, headers=clerk)
    assert created.status_code == 201, created.text
    org_id = created.json()["organisation_id"]
    first = await invoiced_order(client, org_id)
    second = await invoiced_order(client, org_id)

    await sign_in(client, "finance")
    finance = await client.get("/finance", params={"lang": "fi"})
    assert 'href="/finance/invoices"' in finance.text
    assert 'href="/finance/invoice-payments"' in finance.text
    listed = await client.get("/finance/invoices", params={"lang": "fi"})
    assert listed.status_code == 200, listed.text
    for invoice in (first, second):
        assert f'data-invoice="{invoice["invoice_id"]}" data-state="open"' in listed.text
        assert invoice["reference_number"] in listed.text
    assert first["due_date"][8:10] + "." + first["due_date"][5:7] in listed.text
    assert "Avoin" in listed.text
    for show, expected in (("open", 2), ("paid", 0), ("overdue", 0), ("credited", 0)):
        page = await client.get("/finance/invoices", params={"show": show})
        assert page.text.count('data-kind="invoice"') == expected, show
        assert 'aria-current="page"' in page.text
    # a page at a time (two invoices, pages of one here): newest first, then older
    monkeypatch.setattr(invoices, "PAGE_SIZE", 1)
    newest = await client.get("/finance/invoices", params={"show": "open", "lang": "en"})
    assert newest.text.count('data-kind="invoice"') == 1
    assert f'data-invoice="{second["invoice_id"]}"' in newest.text
    assert 'href="/finance/invoices?show=open&amp;offset=1" rel="next"' in newest.text
    older = await client.get("/finance/invoices", params={"show": "open", "offset": 1})
    assert f'data-invoice="{first["invoice_id"]}"' in older.text
    assert 'rel="prev"' in older.text
    monkeypatch.undo()
    # unpaid after its due date: overdue
    await db.execute(
        "UPDATE payment.invoices SET due_date = current_date - 3 WHERE id = $1",
        uuid.UUID(second["invoice_id"]),
    )
    overdue = await client.get("/finance/invoices", params={"show": "overdue", "lang": "fi"})
    assert overdue.text.count('data-kind="invoice"') == 1
    assert f'data-invoice="{second["invoice_id"]}" data-state="overdue"' in overdue.text
    assert "<strong>Erääntynyt</strong>" in overdue.text

    detail = await client.get(f"/finance/invoices/{first['invoice_id']}", params={"lang": "en"})
    assert detail.status_code == 200, detail.text
    assert f"<dd data-reference>{first['reference_number']}</dd>" in detail.text
    line = first["lines"][0]
    assert f'data-line="{line["line_id"]}"' in detail.text
    assert "payment terms 14 days net" in detail.text
    assert "incl. VAT" in detail.text

    # the bank's file: a wrong amount is an anomaly, the invoice stays open
    upload = await client.get("/finance/invoice-payments", params={"lang": "fi"})
    assert upload.status_code == 200
    assert 'enctype="multipart/form-data"' in upload.text
    wrong_amount = euros(first["amount_cents"] + 100)
    wrong = f"viite;summa;pvm\n{first['reference_number']};{wrong_amount};2026-12-04\n"
    result = await client.post(
        "/finance/invoice-payments",
        params={"lang": "fi"},
        data={"key": uuid.uuid4().hex, "return_to": "/finance/invoice-payments"},
        files={"file": ("pankki.csv", wrong.encode(), "text/csv")},
    )
    assert result.status_code == 200, result.text
    assert 'data-outcome="amount_mismatch"' in result.text
    assert "väärä summa" in result.text
    assert 'data-anomalies="1"' in result.text
    assert f'data-expected="{first["amount_cents"]}"' in result.text  # what it waits for
    anomalies_page = await client.get("/finance", params={"lang": "fi"})
    assert "Laskun maksu väärällä summalla" in anomalies_page.text  # finance resolves it there
    assert f"Viitenumero {first['reference_number']}" in anomalies_page.text
    state = await db.fetchval(
        "SELECT state FROM payment.invoices WHERE id = $1", uuid.UUID(first["invoice_id"])
    )
    assert state == "open"

    # a bad file, and none: on the form, nothing recorded
    anomalies = await db.fetchval("SELECT count(*) FROM payment.payment_anomalies")
    for content in (b"11000015;abc;2026-12-04\n", b"x;y\n", None):
        refused = await client.post(
            "/finance/invoice-payments",
            data={"key": uuid.uuid4().hex, "return_to": "/finance/invoice-payments?lang=fi"},
            files={"file": ("pankki.csv", content, "text/csv")} if content else {"x": ("", b"")},
        )
        assert refused.status_code == 303, (content, refused.text)
        again = await client.get("/finance/invoice-payments", params={"lang": "fi"})
        field, message = error_on(again.text)
        assert field == "csv", content
        assert "Tiedostoa ei voitu lukea" in message or content is None
    assert await db.fetchval("SELECT count(*) FROM payment.payment_anomalies") == anomalies

    # the right amount pays it
    right = f"{first['reference_number']};{euros(first['amount_cents'])};4.12.2026\n"
    paid = await client.post(
        "/finance/invoice-payments",
        data={"key": uuid.uuid4().hex, "csv": right},
    )
    assert paid.status_code == 200, paid.text
    assert 'data-outcome="paid"' in paid.text
    shown = await client.get("/finance/invoices", params={"show": "paid"})
    assert f'data-invoice="{first["invoice_id"]}" data-state="paid"' in shown.text

    # a credit note of the second: each missing choice on the form, then confirmed
    credit_page = f"/finance/invoices/{second['invoice_id']}"
    assert "/credit" in (await client.get(credit_page)).text
    line2 = second["lines"][0]
    for params, field in (
        ({"reason": "peruttu"}, "line"),  # no line chosen
        ({"line": line["line_id"], "reason": "peruttu"}, "line"),  # another invoice's line
        ({"line": line2["line_id"]}, "reason"),
    ):
        refused = await client.get(f"{credit_page}/credit", params={**params, "lang": "fi"})
        assert refused.status_code == 303, refused.text
        assert refused.headers["location"] == credit_page
        again = await client.get(credit_page, params={"lang": "fi"})
        assert error_on(again.text)[0] == field
        assert 'value="peruttu"' in again.text or field == "reason"  # the input kept
    confirm = await client.get(
        f"{credit_page}/credit", params={"line": line2["line_id"], "reason": "Vuoro peruttu"}
    )
    assert confirm.status_code == 200, confirm.text
    assert f'data-credit-total="{line2["gross_cents"]}"' in confirm.text
    assert 'class="danger"' in confirm.text
    assert await db.fetchval("SELECT count(*) FROM payment.invoices") == 2  # nothing yet
    key = re.search(r'name="key" value="([0-9a-f]+)"', confirm.text)
    assert key
    credited = await client.post(
        f"{credit_page}/credit",
        data={"key": key.group(1), "line": line2["line_id"], "reason": "Vuoro peruttu"},
    )
    assert credited.status_code == 303, credited.text
    after = await client.get(credit_page, params={"lang": "fi"})
    assert 'data-kind="credit_note"' in after.text
    assert "Hyvityslasku" in after.text
    notes = "SELECT count(*) FROM payment.invoices WHERE kind = 'credit_note'"
    assert await db.fetchval(notes) == 1
    shown_notes = await client.get("/finance/invoices", params={"show": "credit_notes"})
    assert shown_notes.text.count('data-kind="credit_note"') == 1
    assert 'data-kind="invoice"' not in shown_notes.text
    credited_tab = await client.get("/finance/invoices", params={"show": "credited"})
    assert f'data-invoice="{second["invoice_id"]}" data-state="credited"' in credited_tab.text
    assert 'data-kind="credit_note"' not in credited_tab.text  # a credit note is not "credited"
    open_tab = await client.get("/finance/invoices", params={"show": "open"})
    assert 'data-kind="credit_note"' not in open_tab.text
    assert 'data-kind="invoice"' not in open_tab.text  # one paid, one credited
    # the same line again: refused on the invoice's page, nothing more credited
    again = await client.post(
        f"{credit_page}/credit",
        data={
            "key": uuid.uuid4().hex,
            "line": line2["line_id"],
            "reason": "Toisen kerran",
            "return_to": credit_page,
        },
    )
    assert again.status_code == 303, again.text
    assert again.headers["location"] == credit_page
    refused_page = await client.get(credit_page, params={"lang": "en"})
    field, message = error_on(refused_page.text)
    assert field == "line"
    assert "not credited yet" in message
    assert await db.fetchval(notes) == 1

    await sign_in(client, "clerk-sports")  # staff see invoices but do not import payments
    assert (await client.get("/finance/invoices")).status_code == 200
    # nor credit another department's sales (a map from the GIS shop): on the form, unchanged
    first_page = f"/finance/invoices/{first['invoice_id']}"
    refused = await client.post(
        f"{first_page}/credit",
        data={"key": "c1", "line": line["line_id"], "reason": "x", "return_to": first_page},
    )
    assert refused.status_code == 303, refused.text
    shown = await client.get(first_page, params={"lang": "fi"})
    assert error_on(shown.text)[0] == "line"
    assert "toisen toimialan" in shown.text
    assert await db.fetchval(notes) == 1
    assert (await client.get("/finance/invoice-payments")).status_code == 403


async def test_a_contact_person_sees_their_organisations_invoices(suite: GatewayClient) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    created = await client.post("/api/v1/organisations", json=ORGANISATION, headers=clerk)
    org_id = created.json()["organisation_id"]
    invoice = await invoiced_order(client, org_id)

    await sign_in(client, "resident-turku")
    home = await client.get("/", params={"lang": "fi"})
    assert 'href="/invoices"' in home.text
    mine = await client.get("/invoices", params={"lang": "fi"})
    assert mine.status_code == 200, mine.text
    assert "Turun Koulu Oy" in mine.text
    assert f'href="/invoices/{invoice["invoice_id"]}"' in mine.text
    one = await client.get(f"/invoices/{invoice['invoice_id']}", params={"lang": "sv"})
    assert one.status_code == 200, one.text
    assert invoice["reference_number"] in one.text
    assert "/credit" not in one.text  # a contact person does not credit
    assert (await client.get("/finance/invoices")).status_code == 403

    await sign_in(client, "resident-kaarina")
    home = await client.get("/", params={"lang": "en"})
    assert 'href="/reservations"' in home.text  # the resident's menu, without the invoices
    assert 'href="/invoices"' not in home.text  # nobody's contact person
    theirs = await client.get("/invoices", params={"lang": "en"})
    assert "not a contact person of any organisation" in theirs.text
    assert invoice["reference_number"] not in theirs.text
    hidden = await client.get(f"/invoices/{invoice['invoice_id']}", params={"lang": "en"})
    assert hidden.status_code == 404
    stranger = await bearer(client, "resident-kaarina")
    assert (
        await client.get(f"/api/v1/invoices/{invoice['invoice_id']}", headers=stranger)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/organisations/{org_id}", headers=stranger)
    ).status_code == 404
    contact = await bearer(client, "resident-turku")
    got = await client.get(f"/api/v1/invoices/{invoice['invoice_id']}", headers=contact)
    assert got.status_code == 200, got.text
    assert got.json()["reference_number"] == invoice["reference_number"]
    filtered = await client.get(
        "/api/v1/invoices", params={"kind": "credit_note", "state": "open"}, headers=contact
    )
    assert filtered.status_code == 200, filtered.text
    assert filtered.json() == {"invoices": []}
    opened = await client.get(
        "/api/v1/invoices", params={"kind": "invoice", "state": "open"}, headers=contact
    )
    assert [i["invoice_id"] for i in opened.json()["invoices"]] == [invoice["invoice_id"]]
    bad = await client.get("/api/v1/invoices", params={"kind": "receipt"}, headers=contact)
    assert bad.status_code == 400, bad.text
