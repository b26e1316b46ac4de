"""Texts of the utilisation figures page (fi / sv / en), merged into `i18n`'s table."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str, str]] = {
    "insights": ("Käyttöasteet", "Användningsgrad", "Utilisation figures"),
    "insights_help": (
        "Varatut tunnit aukioloaikoihin verrattuna valitulla jaksolla. Jokaisen kaavion luvut "
        "ovat myös taulukkona sen vieressä.",
        "Bokade timmar jämfört med öppettiderna under den valda perioden. Varje diagrams siffror "
        "finns också som tabell bredvid det.",
        "Booked hours against opening hours in the chosen period. Each chart's numbers are also "
        "in the table beside it.",
    ),
    "period_from": ("Alkaen", "Från", "From"),
    "period_to": ("Päättyen", "Till", "To"),
    "all_departments": ("Kaikki toimialani", "Alla mina sektorer", "All my departments"),
    "all_units": ("Kaikki toimipaikat", "Alla verksamhetsställen", "All units"),
    "utilisation": ("Käyttöaste", "Användningsgrad", "Utilisation"),
    "utilisation_by_resource": (
        "Käyttöaste tiloittain",
        "Användningsgrad per lokal",
        "Utilisation by resource",
    ),
    "utilisation_by_weekday": (
        "Varatut ja aukiolotunnit viikonpäivittäin",
        "Bokade timmar och öppettimmar per veckodag",
        "Booked and open hours by weekday",
    ),
    "utilisation_by_hour": (
        "Käyttöaste kellonajoittain",
        "Användningsgrad per timme",
        "Utilisation by time of day",
    ),
    "by_customer_group": (
        "Varatut tunnit asiakasryhmittäin",
        "Bokade timmar per kundgrupp",
        "Booked hours by customer group",
    ),
    "revenue_by_month": ("Tulot kuukausittain", "Intäkter per månad", "Revenue by month"),
    "booked_hours": ("Varatut tunnit", "Bokade timmar", "Booked hours"),
    "open_hours": ("Aukiolotunnit", "Öppettimmar", "Open hours"),
    "bookings": ("Varaukset", "Bokningar", "Bookings"),
    "cancelled_count": ("Peruutukset", "Avbokningar", "Cancellations"),
    "no_shows": ("Saapumatta jääneet", "Uteblivna", "No-shows"),
    "share": ("Osuus", "Andel", "Share"),
    "hour_of_day": ("Tunti", "Timme", "Hour"),
    "month": ("Kuukausi", "Månad", "Month"),
    "paid": ("Maksettu", "Betalt", "Paid"),
    "refunded": ("Palautettu", "Återbetalt", "Refunded"),
    "net_revenue": ("Tulot palautusten jälkeen", "Intäkter efter återbetalningar", "Net revenue"),
    "units_figures": ("Toimipaikat", "Verksamhetsställen", "Units"),
    "departments_figures": ("Toimialat", "Sektorer", "Departments"),
    "resources_figures": ("Tilat ja välineet", "Lokaler och utrustning", "Resources"),
    "no_figures": (
        "Valitulla jaksolla ei ole lukuja.",
        "Inga siffror för den valda perioden.",
        "No figures for the chosen period.",
    ),
    "legend_open": (
        "Ääriviiva: aukiolotunnit",
        "Kontur: öppettimmar",
        "Outline: open hours",
    ),
    "legend_booked": (
        "Vinoviivoitettu: varatut tunnit",
        "Snedstreckad: bokade timmar",
        "Hatched: booked hours",
    ),
    "group_resident": ("Turkulaiset", "Åbobor", "Residents of Turku"),
    "group_other": ("Muut", "Övriga", "Others"),
    "group_association": ("Yhdistykset", "Föreningar", "Associations"),
    "group_business": ("Yritykset", "Företag", "Businesses"),
    "group_unknown": ("Tuntematon", "Okänd", "Unknown"),
    "table_of": ("Taulukko", "Tabell", "Table"),
    "no_show": ("Ei saapunut", "Uteblev", "No-show"),
    "mark_no_show": ("Merkitse: ei saapunut", "Markera: uteblev", "Mark as no-show"),
    "unmark_no_show": ("Poista merkintä: ei saapunut", "Ta bort: uteblev", "Undo no-show"),
}
