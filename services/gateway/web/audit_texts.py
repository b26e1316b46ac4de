"""Texts of the audit trail page (fi / sv / en), merged into `i18n`'s table."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str, str]] = {
    "audit_trail": ("Lokitiedot", "Granskningslogg", "Audit trail"),
    "audit_help": (
        "Jokainen henkilökunnan ja järjestelmän tekemä muutos ja jokainen henkilötietojen "
        "katselu, uusin ensin. Merkintöjä ei voi muuttaa eikä poistaa.",
        "Varje ändring som personal eller systemet gjort och varje visning av personuppgifter, "
        "den nyaste först. Posterna kan inte ändras eller tas bort.",
        "Every change made by staff or the system and every view of personal data, newest "
        "first. Entries cannot be changed or removed.",
    ),
    "audit_search": ("Hae merkintöjä", "Sök poster", "Search entries"),
    "field_actor": ("Tekijä (tunniste)", "Utförare (identifierare)", "Actor (subject)"),
    "field_person": ("Asiakas (tunniste)", "Kund (identifierare)", "Customer (subject)"),
    "field_object_type": ("Kohteen tyyppi", "Objektets typ", "Object type"),
    "field_object_id": ("Kohteen tunnus", "Objektets id", "Object id"),
    "field_action": ("Toiminto", "Åtgärd", "Action"),
    "field_since": ("Alkaen", "Från", "From"),
    "field_until": ("Päättyen", "Till", "To"),
    "audit_when": ("Aika", "Tid", "Time"),
    "audit_kind": ("Laji", "Typ", "Kind"),
    "audit_outcome": ("Tulos", "Resultat", "Outcome"),
    "audit_object": ("Kohde", "Objekt", "Object"),
    "audit_address": ("Osoite", "Adress", "Address"),
    "audit_none": (
        "Ei merkintöjä näillä ehdoilla.",
        "Inga poster med dessa villkor.",
        "No entries match.",
    ),
    "audit_older": ("Vanhemmat merkinnät", "Äldre poster", "Older entries"),
    "audit_verify": ("Tarkista ketju", "Kontrollera kedjan", "Check the chain"),
    "audit_chain_ok": (
        "Ketju on ehjä: tarkistettu {checked} merkintää.",
        "Kedjan är hel: {checked} poster kontrollerade.",
        "The chain is intact: {checked} entries checked.",
    ),
    "audit_chain_broken": (
        "Ketju on rikki merkinnästä {seq} alkaen.",
        "Kedjan är bruten från post {seq}.",
        "The chain is broken from entry {seq}.",
    ),
    "audit_kind_attempt": ("Yritys", "Försök", "Attempt"),
    "audit_kind_change": ("Muutos", "Ändring", "Change"),
    "audit_kind_view": ("Katselu", "Visning", "View"),
    "audit_kind_refused": ("Torjuttu", "Avvisad", "Refused"),
    "audit_kind_event": ("Tapahtuma", "Händelse", "Event"),
    "audit_kind_erasure": ("Poisto", "Radering", "Erasure"),
}
