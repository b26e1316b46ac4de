"""Texts of the finance officer's ERP export preview (fi / sv / en), merged into `i18n`."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str, str]] = {
    "erp_preview": ("Esikatsele", "Förhandsgranska", "Preview"),
    "erp_preview_title": (
        "Kirjanpidon siirron esikatselu",
        "Förhandsgranskning av bokföringsexporten",
        "Accounting export preview",
    ),
    "erp_preview_help": (
        "Näin siirtotiedosto muodostuisi nyt. Esikatselu ei kirjaa siirtoa.",
        "Så här skulle exportfilen se ut nu. Förhandsgranskningen registrerar ingen export.",
        "This is the file an export would make now. The preview records no export.",
    ),
    "erp_exported_before": (
        "Päivä on jo viety {n} kertaa: uusi vienti on uusintavienti.",
        "Dagen har redan exporterats {n} gånger: en ny export är en omexport.",
        "The day was already exported {n} times: a new export is a re-export.",
    ),
    "erp_not_exported": (
        "Päivää ei ole vielä viety.",
        "Dagen har inte exporterats ännu.",
        "The day has not been exported yet.",
    ),
    "erp_no_rows": (
        "Päivältä ei ole kirjauksia.",
        "Dagen har inga bokningar.",
        "The day has no entries.",
    ),
    "erp_company_code": ("Yritys", "Bolag", "Company code"),
    "erp_profit_centre": ("Tulosyksikkö", "Resultatenhet", "Profit centre"),
    "erp_gl_account": ("Tili", "Konto", "GL account"),
    "erp_vat_code": ("ALV-koodi", "Momskod", "VAT code"),
    "erp_internal_order": ("Sisäinen tilaus", "Intern order", "Internal order"),
    "erp_base": ("Veroton", "Netto", "Base"),
    "erp_kind_sale": ("Korttimaksu", "Kortbetalning", "Card payment"),
    "erp_kind_refund": ("Palautus", "Återbetalning", "Refund"),
    "erp_kind_invoice": ("Lasku", "Faktura", "Invoice"),
    "erp_kind_credit_note": ("Hyvityslasku", "Kreditnota", "Credit note"),
    "erp_invoices": ("Päivän laskut", "Dagens fakturor", "The day's invoices"),
    "erp_invoice_number": ("Laskun numero", "Fakturanummer", "Invoice number"),
    "erp_reference": ("Viitenumero", "Referensnummer", "Reference number"),
    "erp_due": ("Eräpäivä", "Förfallodag", "Due date"),
}
