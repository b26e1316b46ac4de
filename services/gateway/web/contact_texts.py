"""Texts of the resident's contact details page (fi, sv, en), merged into i18n's table."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str, str]] = {
    "my_contact": ("Yhteystiedot", "Kontaktuppgifter", "Contact details"),
    "contact_intro": (
        "Näihin osoitteisiin ja tällä kielellä lähetämme varausvahvistukset, kuitit ja "
        "muistutukset.",
        "Till dessa adresser och på detta språk skickar vi bokningsbekräftelser, kvitton och "
        "påminnelser.",
        "We send booking confirmations, receipts and reminders to these addresses, in this "
        "language.",
    ),
    "field_email": ("Sähköposti", "E-post", "Email"),
    "field_phone": ("Puhelinnumero", "Telefonnummer", "Phone number"),
    "phone_hint": (
        "Kansainvälisessä muodossa, esimerkiksi +358401234567.",
        "I internationellt format, till exempel +358401234567.",
        "In international form, for example +358401234567.",
    ),
    "field_locale": ("Viestien kieli", "Meddelandenas språk", "Language of messages"),
    "field_reminders": ("Muistutukset", "Påminnelser", "Reminders"),
    "reminders_on": (
        "Lähetä minulle muistutus ennen varaustani",
        "Skicka mig en påminnelse före min bokning",
        "Send me a reminder before my booking",
    ),
    "err_validation_failed_email": (
        "Anna sähköpostiosoite muodossa nimi@esimerkki.fi.",
        "Ange e-postadressen i formen namn@exempel.fi.",
        "Enter an email address like name@example.com.",
    ),
    "err_validation_failed_phone": (
        "Anna puhelinnumero kansainvälisessä muodossa, esimerkiksi +358401234567.",
        "Ange telefonnumret i internationellt format, till exempel +358401234567.",
        "Enter the phone number in international form, for example +358401234567.",
    ),
    "err_validation_failed_locale": ("Valitse kieli.", "Välj ett språk.", "Choose a language."),
}
