"""Translations as data (fi / sv / en) and the choice of language for a request.

Order of preference: `?lang=` on the URL, the `lang` cookie set by the language switch,
the browser's `Accept-Language`, the signed-in user's locale, then Finnish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.gateway.web.audit_texts import TEXTS as AUDIT_TEXTS
from services.gateway.web.contact_texts import TEXTS as CONTACT_TEXTS
from services.gateway.web.desk_texts import TEXTS as DESK_TEXTS
from services.gateway.web.finance_texts import TEXTS as FINANCE_TEXTS
from services.gateway.web.gis_texts import TEXTS as GIS_TEXTS
from services.gateway.web.insights_texts import TEXTS as INSIGHTS_TEXTS
from services.gateway.web.waitlist_texts import TEXTS as WAITLIST_TEXTS

LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")
LANGUAGE_NAMES: Mapping[str, str] = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}
LANG_COOKIE = "lang"
WEEKDAYS: Mapping[str, tuple[str, ...]] = {
    "fi": ("ma", "ti", "ke", "to", "pe", "la", "su"),
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}

_T: dict[str, tuple[str, str, str]] = {
    # key: (fi, sv, en)
    "site_name": ("Turun kaupungin varaukset", "Åbo stads bokningar", "City of Turku bookings"),
    "skip_to_content": ("Siirry sisältöön", "Hoppa till innehållet", "Skip to content"),
    "main_nav": ("Päävalikko", "Huvudmeny", "Main menu"),
    "menu": ("Valikko", "Meny", "Menu"),
    "language": ("Kieli", "Språk", "Language"),
    "home": ("Etusivu", "Startsida", "Home"),
    "resources": ("Tilat ja ajat", "Lokaler och tider", "Spaces and times"),
    "cart": ("Ostoskori", "Varukorg", "Cart"),
    "my_reservations": ("Omat varaukset", "Mina bokningar", "My reservations"),
    "gis_shop": ("Karttapalvelut", "Karttjänster", "Maps and survey data"),
    "library": ("Kirjaston maksut", "Bibliotekets avgifter", "Library fees"),
    "calendar_feed": ("Kalenteritilaus", "Kalenderprenumeration", "Calendar feed"),
    "staff": ("Henkilökunta", "Personal", "Staff"),
    "finance": ("Talous", "Ekonomi", "Finance"),
    "sign_in": ("Kirjaudu sisään", "Logga in", "Sign in"),
    "sign_out": ("Kirjaudu ulos", "Logga ut", "Sign out"),
    "signed_in_as": ("Kirjautuneena", "Inloggad som", "Signed in as"),
    "welcome": (
        "Varaa kaupungin tiloja ja maksa kaupungin palveluja verkossa.",
        "Boka stadens lokaler och betala stadens tjänster på nätet.",
        "Book the city's spaces and pay for city services online.",
    ),
    "sign_in_needed": (
        "Kirjaudu sisään varataksesi ja maksaaksesi.",
        "Logga in för att boka och betala.",
        "Sign in to book and pay.",
    ),
    "filters": ("Rajaa hakua", "Avgränsa sökningen", "Filter"),
    "kind": ("Tyyppi", "Typ", "Type"),
    "any": ("Kaikki", "Alla", "Any"),
    "kind_sports": ("Liikunta", "Idrott", "Sports"),
    "kind_culture": ("Kulttuuri", "Kultur", "Culture"),
    "kind_health": ("Terveys", "Hälsa", "Health"),
    "unit": ("Toimipiste", "Verksamhetsställe", "Unit"),
    "date": ("Päivä", "Datum", "Date"),
    "places": ("Paikkoja", "Platser", "Places"),
    "search": ("Hae", "Sök", "Search"),
    "no_results": ("Ei tuloksia.", "Inga resultat.", "No results."),
    "show_times": ("Näytä vapaat ajat", "Visa lediga tider", "Show free times"),
    "week": ("Viikko", "Vecka", "Week"),
    "previous_week": ("Edellinen viikko", "Föregående vecka", "Previous week"),
    "next_week": ("Seuraava viikko", "Nästa vecka", "Next week"),
    "free_times": ("Vapaat ajat", "Lediga tider", "Free times"),
    "time": ("Aika", "Tid", "Time"),
    "price": ("Hinta", "Pris", "Price"),
    "hold": ("Varaa", "Reservera", "Hold"),
    "repeat_weekly": (
        "Toista viikoittain (kertaa)",
        "Upprepa varje vecka (gånger)",
        "Repeat weekly (times)",
    ),
    "no_free_times": (
        "Ei vapaita aikoja tällä viikolla.",
        "Inga lediga tider denna vecka.",
        "No free times this week.",
    ),
    "cart_empty": ("Ostoskori on tyhjä.", "Varukorgen är tom.", "Your cart is empty."),
    "line": ("Rivi", "Rad", "Line"),
    "merchant": ("Myyjä", "Säljare", "Merchant"),
    "vat_rate": ("ALV-kanta", "Momssats", "VAT rate"),
    "net": ("Veroton", "Netto", "Net"),
    "vat": ("ALV", "Moms", "VAT"),
    "gross": ("Verollinen", "Brutto", "Gross"),
    "total": ("Yhteensä", "Totalt", "Total"),
    "vat_breakdown": ("ALV-erittely", "Momsspecifikation", "VAT breakdown"),
    "hold_expires": ("Varaus vanhenee", "Reservationen går ut", "Hold expires"),
    "remove": ("Poista", "Ta bort", "Remove"),
    "checkout_pay": ("Siirry maksamaan", "Gå till betalning", "Go to payment"),
    "library_card": ("Kirjastokortti", "Bibliotekskort", "Library card"),
    "card_number": ("Kortin numero", "Kortnummer", "Card number"),
    "pin": ("PIN-koodi", "PIN-kod", "PIN"),
    "link_card": ("Liitä kortti", "Koppla kortet", "Link card"),
    "add_debits": (
        "Lisää kirjaston maksut koriin",
        "Lägg bibliotekets avgifter i varukorgen",
        "Add library fees to cart",
    ),
    "catalogue": ("Tuoteluettelo", "Produktkatalog", "Catalogue"),
    "product": ("Tuote", "Produkt", "Product"),
    "format": ("Tiedostomuoto", "Filformat", "Format"),
    "purpose": ("Käyttötarkoitus", "Användningsändamål", "Purpose of use"),
    "accept_licence": (
        "Hyväksyn käyttöehdot",
        "Jag godkänner användarvillkoren",
        "I accept the licence terms",
    ),
    "add_to_cart": ("Lisää koriin", "Lägg i varukorgen", "Add to cart"),
    "receipt": ("Kuitti", "Kvitto", "Receipt"),
    # the local test provider's page after the resident's choice (routes/payment.py)
    "test_payment": ("Testimaksu", "Testbetalning", "Test payment"),
    "payment_received": (
        "Maksu vastaanotettu – vahvistamme tilaustasi.",
        "Betalningen har tagits emot – vi bekräftar din beställning.",
        "Payment received – we are confirming your order.",
    ),
    "payment_declined_note": (
        "Maksua ei hyväksytty. Voit yrittää uudelleen.",
        "Betalningen godkändes inte. Du kan försöka igen.",
        "The payment was not accepted. You can try again.",
    ),
    "payment_abandoned_note": (
        "Maksu keskeytettiin.",
        "Betalningen avbröts.",
        "The payment was cancelled.",
    ),
    "follow_order": ("Seuraa tilaustasi", "Följ din beställning", "Follow your order"),
    "order": ("Tilaus", "Beställning", "Order"),
    "reference": ("Viitenumero", "Referensnummer", "Reference number"),
    "status": ("Tila", "Status", "Status"),
    "downloads": ("Lataukset", "Nedladdningar", "Downloads"),
    "download": ("Lataa", "Ladda ned", "Download"),
    "cancel": ("Peru", "Avboka", "Cancel"),
    "cancel_reservation": ("Peru varaus", "Avboka bokningen", "Cancel reservation"),
    "refund_you_get": ("Saat palautuksena", "Du får tillbaka", "You get back"),
    "confirm_cancel": ("Vahvista peruutus", "Bekräfta avbokningen", "Confirm cancellation"),
    "no_reservations": ("Ei varauksia.", "Inga bokningar.", "No reservations."),
    "feed_intro": (
        "Tilaa varauksesi kalenteriisi tällä yksityisellä osoitteella.",
        "Prenumerera på dina bokningar i din kalender med denna privata adress.",
        "Subscribe to your reservations in your calendar with this private address.",
    ),
    "create_feed": ("Luo tilausosoite", "Skapa prenumerationsadress", "Create feed address"),
    "revoke_feed": ("Poista tilausosoite", "Ta bort prenumerationsadressen", "Revoke feed address"),
    "feed_address": ("Tilausosoite", "Prenumerationsadress", "Feed address"),
    "day_view": ("Päivänäkymä", "Dagsvy", "Day view"),
    "approvals": ("Hyväksynnät", "Godkännanden", "Approvals"),
    "approve": ("Hyväksy", "Godkänn", "Approve"),
    "deny": ("Hylkää", "Avslå", "Deny"),
    "reason": ("Perustelu", "Motivering", "Reason"),
    "closures": ("Sulkemiset", "Stängningar", "Closures"),
    "add_closure": ("Lisää sulkeminen", "Lägg till stängning", "Add closure"),
    "start": ("Alkaa", "Börjar", "Starts"),
    "end": ("Päättyy", "Slutar", "Ends"),
    "resource": ("Kohde", "Objekt", "Resource"),
    "cancellations": (
        "Peruutukset ja palautukset",
        "Avbokningar och återbetalningar",
        "Cancellations and refunds",
    ),
    "manage_resources": ("Tilat ja hinnat", "Lokaler och priser", "Resources and prices"),
    "save": ("Tallenna", "Spara", "Save"),
    "failed_registrations": (
        "Epäonnistuneet kirjaukset",
        "Misslyckade registreringar",
        "Failed registrations",
    ),
    "retry": ("Yritä uudelleen", "Försök igen", "Retry"),
    "settlement": ("Tilitys", "Redovisning", "Settlement"),
    "reconciliation": ("Täsmäytys", "Avstämning", "Reconciliation"),
    "download_csv": ("Lataa CSV", "Ladda ned CSV", "Download CSV"),
    "download_json": ("Lataa JSON", "Ladda ned JSON", "Download JSON"),
    "from": ("Alkaen", "Från", "From"),
    "to": ("Asti", "Till", "To"),
    "show": ("Näytä", "Visa", "Show"),
    "nothing_waiting": ("Ei odottavia.", "Inget väntar.", "Nothing waiting."),
    "error_title": ("Jokin meni vikaan", "Något gick fel", "Something went wrong"),
    "err_unavailable": (
        "Palvelu ei ole juuri nyt käytettävissä. Yritä hetken kuluttua uudelleen.",
        "Tjänsten är inte tillgänglig just nu. Försök igen om en stund.",
        "The service is not available right now. Please try again in a moment.",
    ),
    "err_not_found": (
        "Sivua tai kohdetta ei löytynyt.",
        "Sidan eller objektet hittades inte.",
        "The page or item was not found.",
    ),
    "err_forbidden": (
        "Sinulla ei ole oikeutta tähän.",
        "Du har inte behörighet till detta.",
        "You are not allowed to do this.",
    ),
    "err_unauthenticated": ("Kirjaudu ensin sisään.", "Logga in först.", "Please sign in first."),
    "err_slot_unavailable": (
        "Aika ei ole enää vapaana.",
        "Tiden är inte längre ledig.",
        "That time is no longer free.",
    ),
    "err_hold_expired": (
        "Varaus ehti vanhentua.",
        "Reservationen hann gå ut.",
        "The hold has expired.",
    ),
    "err_validation_failed": ("Tarkista tiedot", "Kontrollera uppgifterna", "Please check"),
    "err_conflict": (
        "Tilanne muuttui, yritä uudelleen.",
        "Läget ändrades, försök igen.",
        "Something changed meanwhile; please try again.",
    ),
    "err_payment_failed": (
        "Maksu epäonnistui.",
        "Betalningen misslyckades.",
        "The payment failed.",
    ),
    "err_gone": ("Linkki on vanhentunut.", "Länken har gått ut.", "The link has expired."),
    "err_other": ("Tapahtui virhe.", "Ett fel inträffade.", "An error occurred."),
    "error": ("Virhe", "Fel", "Error"),
    "error_title_page_not_found": ("Sivua ei löytynyt", "Sidan hittades inte", "Page not found"),
    "err_page_not_found": (
        "Osoitteessa ei ole sivua. Tarkista osoite tai aloita etusivulta.",
        "Det finns ingen sida på adressen. Kontrollera adressen eller börja från startsidan.",
        "There is no page at this address. Check the address or start from the home page.",
    ),
    "error_title_internal": (
        "Palvelussa on häiriö",
        "Det är en störning i tjänsten",
        "Sorry, there is a problem with the service",
    ),
    "err_internal": (
        "Yritä hetken kuluttua uudelleen. Tekemäsi varaukset ja maksut ovat tallessa.",
        "Försök igen om en stund. Dina bokningar och betalningar är sparade.",
        "Please try again in a moment. Your bookings and payments are safe.",
    ),
    "error_summary": ("Korjaa seuraava", "Rätta följande", "There is a problem"),
    "err_forbidden_pin": (
        "Kirjastokortin numero tai PIN-koodi on väärin.",
        "Bibliotekskortets nummer eller PIN-kod är fel.",
        "The library card number or PIN is wrong.",
    ),
    "err_attempts_left": ("Yrityksiä jäljellä", "Försök kvar", "Attempts left"),
    "err_locked_minutes": (
        "Kortti on lukittu {n} minuutiksi.",
        "Kortet är låst i {n} minuter.",
        "The card is locked for {n} minutes.",
    ),
    "err_slot_unavailable_starts_at": (
        "Joku ehti varata tämän ajan. Valitse toinen aika.",
        "Någon hann boka den här tiden. Välj en annan tid.",
        "Someone has just booked this time. Choose another time.",
    ),
    "err_slot_unavailable_places": (
        "Vapaita paikkoja ei ole niin monta. Valitse vähemmän paikkoja tai toinen aika.",
        "Det finns inte så många lediga platser. Välj färre platser eller en annan tid.",
        "There are not that many free places. Choose fewer places or another time.",
    ),
    "err_slot_unavailable_slot": (
        "Joku ehti varata tämän ajan. Valitse toinen aika.",
        "Någon hann boka den här tiden. Välj en annan tid.",
        "Someone has just booked this time. Choose another time.",
    ),
    "err_validation_failed_slot": ("Valitse aika.", "Välj en tid.", "Choose a time."),
    "err_validation_failed_card_number": (
        "Tarkista kirjastokortin numero (4–32 kirjainta tai numeroa).",
        "Kontrollera bibliotekskortets nummer (4–32 bokstäver eller siffror).",
        "Check the library card number (4 to 32 letters or digits).",
    ),
    "err_validation_failed_pin": (
        "Anna kirjastokortin PIN-koodi.",
        "Ange bibliotekskortets PIN-kod.",
        "Enter the PIN of the library card.",
    ),
    "err_validation_failed_debit": (
        "Valitse vähintään yksi maksu.",
        "Välj minst en avgift.",
        "Choose at least one fee.",
    ),
    "err_validation_failed_accept_licence": (
        "Hyväksy lisenssiehdot.",
        "Godkänn licensvillkoren.",
        "Accept the licence terms.",
    ),
    "field_slot": ("Aika", "Tid", "Time"),
    "customer": ("Asiakas", "Kund", "Customer"),
    "dev_sign_in": (
        "Kehityskäytön kirjautuminen: esimerkkikäyttäjät (ei tuotannossa).",
        "Inloggning för utveckling: exempelanvändare (inte i produktion).",
        "Development sign-in: demo users (not available in production).",
    ),
    "paid_after_refunds": (
        "Maksettu hyvitysten jälkeen",
        "Betalt efter återbetalningar",
        "Paid after refunds",
    ),
    "today": ("tänään", "i dag", "today"),
    "day_past": ("mennyt", "förbi", "past"),
    "slot_taken": ("varattu", "bokad", "taken"),
    "slot_past": ("ei varattavissa", "kan inte bokas", "not bookable"),
    "closed_day": ("Suljettu", "Stängt", "Closed"),
    "free_of_charge": ("maksuton", "avgiftsfri", "free"),
    "none_free_day": ("Ei vapaita aikoja", "Inga lediga tider", "No free times"),
    "previous_day": ("Edellinen päivä", "Föregående dag", "Previous day"),
    "next_day": ("Seuraava päivä", "Nästa dag", "Next day"),
    "nav_staff_library": ("Kirjaston kirjaukset", "Bibliotekets registreringar", "Library records"),
    "nav_staff_gis": ("Karttatuotteet", "Kartprodukter", "Map products"),
    "payable_formula": (
        "verollinen − palautukset − kulut",
        "brutto − återbetalningar − avgifter",
        "gross − refunds − fees",
    ),
    "applicant": ("Hakija", "Sökande", "Applicant"),
    "no_contact": ("Ei yhteystietoja", "Inga kontaktuppgifter", "No contact given"),
    "decide_by": ("Päätettävä viimeistään", "Beslut senast", "Decide by"),
    "approve_then_pay": (
        "Hyväksynnän jälkeen hakija maksaa varauksen määräaikaan mennessä.",
        "Efter godkännandet betalar sökanden bokningen före tidsfristen.",
        "After approval the applicant pays by the deadline.",
    ),
    "contact_and_purpose": (
        "Yhteystiedot ja käyttötarkoitus",
        "Kontaktuppgifter och ändamål",
        "Contact and purpose",
    ),
    "field_contact.name": ("Yhteyshenkilö", "Kontaktperson", "Contact person"),
    "field_contact.email": ("Sähköposti", "E-post", "Email"),
    "field_contact.phone": ("Puhelin", "Telefon", "Phone"),
    "field_contact.purpose": ("Käyttötarkoitus", "Ändamål", "Purpose"),
    "err_validation_failed_contact.email": (
        "Anna sähköpostiosoite muodossa nimi@esimerkki.fi.",
        "Ange e-postadressen i formen namn@exempel.fi.",
        "Enter an email address like name@example.com.",
    ),
    "err_validation_failed_contact.phone": (
        "Puhelinnumerossa voi olla vain numeroita, välilyöntejä ja merkit + ( ) -.",
        "Telefonnumret får bara innehålla siffror, mellanslag och + ( ) -.",
        "A phone number may hold only digits, spaces and + ( ) -.",
    ),
    "err_validation_failed_contact.name": (
        "Anna yhteyshenkilön nimi.",
        "Ange kontaktpersonens namn.",
        "Enter the contact person's name.",
    ),
    "field_starts_at": ("Aika", "Tid", "Time"),
    "field_ends_at": ("Kesto", "Längd", "Duration"),
    "field_length": ("Kesto", "Längd", "Duration"),
    "field_places": ("Paikkoja", "Platser", "Places"),
    "field_card_number": (
        "Kirjastokortin numero",
        "Bibliotekskortets nummer",
        "Library card number",
    ),
    "field_pin": ("PIN-koodi", "PIN-kod", "PIN"),
    "field_debit": ("Maksut", "Avgifter", "Fees"),
    "field_account_line_ids": ("Maksut", "Avgifter", "Fees"),
    "field_accept_licence": ("Lisenssiehdot", "Licensvillkor", "Licence terms"),
    "field_area": ("Alue", "Område", "Area"),
    "field_purpose": ("Käyttötarkoitus", "Användningsändamål", "Purpose of use"),
    "field_purpose_of_use": ("Käyttötarkoitus", "Användningsändamål", "Purpose of use"),
    "field_reason": ("Syy", "Orsak", "Reason"),
    "field_day": ("Päivä", "Dag", "Day"),
    "field_reservation_id": ("Varaus", "Bokning", "Reservation"),
    "back_home": ("Takaisin etusivulle", "Tillbaka till startsidan", "Back to the home page"),
    "done_held": (
        "Aika on varattu ja lisätty koriin.",
        "Tiden är reserverad och i varukorgen.",
        "The time is held and in your cart.",
    ),
    "done_added": ("Lisätty koriin.", "Tillagt i varukorgen.", "Added to your cart."),
    "done_cancelled": (
        "Varaus on peruttu.",
        "Bokningen är avbokad.",
        "The reservation is cancelled.",
    ),
    "done_saved": ("Tallennettu.", "Sparat.", "Saved."),
    "library_fees": ("Avoimet maksut", "Öppna avgifter", "Outstanding fees"),
    "debit_awaiting_payment": (
        "Maksamattomassa tilauksessa",
        "I en obetald beställning",
        "In an order awaiting payment",
    ),
    "debit_paid": (
        "Maksettu verkossa, kirjataan kirjastoon",
        "Betald på nätet, registreras i biblioteket",
        "Paid online, being recorded in the library",
    ),
    "go_to_order": ("Siirry tilaukseen", "Gå till beställningen", "Go to the order"),
    "licence": ("Käyttölupa", "Licens", "Licence"),
    "per_hectare": ("hehtaarihinta", "pris per hektar", "a price per hectare"),
    "area_geojson": (
        "Alue (GeoJSON-monikulmio)",
        "Område (GeoJSON-polygon)",
        "Area (GeoJSON polygon)",
    ),
    "area_crs": ("Alueen koordinaatisto", "Områdets koordinatsystem", "Coordinates of the area"),
    "crs_wgs84": (
        "WGS84 pituus/leveys (verkkokartta)",
        "WGS84 longitud/latitud (webbkarta)",
        "WGS84 longitude/latitude (web map)",
    ),
    "ready_file": ("Valmis tiedosto", "Färdig fil", "Ready file"),
    "made_to_order": ("Tehdään tilauksesta", "Görs på beställning", "Made to order"),
    "upload_ready_file": (
        "Lataa valmis tiedosto",
        "Ladda upp färdig fil",
        "Upload the ready file",
    ),
    "printable_receipt": ("Tulostettava kuitti", "Utskrivbart kvitto", "Printable receipt"),
    "attempts": ("Yrityksiä", "Försök", "Attempts"),
    "last_error": ("Viimeisin virhe", "Senaste fel", "Last error"),
    "fees": ("Palvelumaksut", "Avgifter", "Fees"),
    "refunds": ("Palautukset", "Återbetalningar", "Refunds"),
    "payable": ("Tilitettävä", "Att redovisa", "Payable"),
    "cost_centre": ("Kustannuspaikka", "Kostnadsställe", "Cost centre"),
    "balanced": ("Täsmää", "Stämmer", "Balanced"),
    "mismatches": ("Poikkeamat", "Avvikelser", "Mismatches"),
    "yes": ("Kyllä", "Ja", "Yes"),
    "no": ("Ei", "Nej", "No"),
    "merchant_sports": ("Liikuntapalvelut", "Idrottstjänster", "Sports services"),
    "merchant_culture": ("Kulttuuripalvelut", "Kulturtjänster", "Cultural services"),
    "merchant_health": ("Hyvinvointitoimiala", "Välfärdssektorn", "Welfare division"),
    "merchant_library": ("Turun kaupunginkirjasto", "Åbo stadsbibliotek", "Turku City Library"),
    "merchant_gis": ("Kaupunkimittaus", "Stadsmätning", "City survey services"),
    "state_held": ("Alustava", "Preliminär", "Held"),
    "state_requested": ("Odottaa hyväksyntää", "Väntar på godkännande", "Awaiting approval"),
    "state_approved": ("Hyväksytty", "Godkänd", "Approved"),
    "state_denied": ("Hylätty", "Avslagen", "Denied"),
    "state_confirmed": ("Vahvistettu", "Bekräftad", "Confirmed"),
    "state_cancelled": ("Peruttu", "Avbokad", "Cancelled"),
    "state_expired": ("Vanhentunut", "Utgången", "Expired"),
    "state_awaiting_payment": ("Odottaa maksua", "Väntar på betalning", "Awaiting payment"),
    "state_paid": ("Maksettu", "Betald", "Paid"),
    "state_fulfilled": ("Toimitettu", "Levererad", "Fulfilled"),
    "state_partially_refunded": ("Osittain hyvitetty", "Delvis återbetald", "Partly refunded"),
    "state_refunded": ("Hyvitetty", "Återbetald", "Refunded"),
    "state_pending": ("Käsittelyssä", "Under behandling", "In progress"),
    "state_registration_failed": (
        "Kirjaus epäonnistui",
        "Registreringen misslyckades",
        "Registration failed",
    ),
    "state_recorded": ("Kirjattu", "Registrerad", "Recorded"),
    "service": ("Palvelu", "Tjänst", "Service"),
    "kind_space": ("Tila", "Lokal", "Space"),
    "kind_equipment": ("Väline", "Utrustning", "Equipment"),
    "kind_appointment": ("Vastaanottoaika", "Mottagningstid", "Appointment"),
    "free_slots_today": ("Vapaita aikoja", "Lediga tider", "Free times"),
    "needs_approval": ("Vaatii hyväksynnän", "Kräver godkännande", "Needs approval"),
    "done_requested": (
        "Varauspyyntö on lähetetty hyväksyttäväksi.",
        "Bokningsförfrågan har skickats för godkännande.",
        "Your request has been sent for approval.",
    ),
    "price_paid": ("Hinta", "Pris", "Price"),
    "refund_policy": (
        "Palautus määräytyy peruutusehtojen mukaan: maksutta tiettyyn aikaan asti ennen alkua, "
        "sen jälkeen osittain, alkamisen jälkeen ei palautusta. Näet palautuksen heti perumisen "
        "jälkeen.",
        "Återbetalningen följer avbokningsvillkoren: kostnadsfritt till en viss tid före start, "
        "därefter delvis, efter start ingen återbetalning. Du ser beloppet direkt efter "
        "avbokningen.",
        "The refund follows the cancellation policy: free until a set time before the start, "
        "partly after that, nothing once it has started. You see the amount right after "
        "cancelling.",
    ),
    "resolved_by_hand": ("Hoidettu käsin", "Hanterad manuellt", "Resolved by hand"),
    "gis_queue": ("Toimitusjono", "Leveranskö", "Delivery queue"),
    "file": ("Tiedosto", "Fil", "File"),
    "deliver": ("Toimita", "Leverera", "Deliver"),
    "refund": ("Hyvitä", "Återbetala", "Refund"),
    "duration": ("Kesto", "Längd", "Duration"),
    "time_left": ("jäljellä", "kvar", "left"),
    "pay": ("Maksa", "Betala", "Pay"),
    "continue": ("Jatka", "Fortsätt", "Continue"),
    "check_booking": ("Tarkista varaus", "Kontrollera bokningen", "Check your booking"),
    "change_choice": ("Muuta valintaa", "Ändra valet", "Change your choice"),
    "per_time": ("kerralta", "per gång", "each time"),
    "what_next": ("Mitä seuraavaksi tapahtuu", "Vad händer sedan", "What happens next"),
    "next_hold": (
        "Kun vahvistat, aika pidetään sinulle {minutes} minuuttia ja se siirtyy ostoskoriin. "
        "Maksa sen aikana: ostoskori näyttää kellonajan ja jäljellä olevan ajan. Maksamaton "
        "aika vapautuu muille.",
        "När du bekräftar hålls tiden för dig i {minutes} minuter och läggs i varukorgen. "
        "Betala under den tiden: varukorgen visar klockslaget och tiden som är kvar. En obetald "
        "tid frigörs för andra.",
        "When you confirm, the time is held for you for {minutes} minutes and goes into your "
        "cart. Pay within that time: the cart shows the time and how long is left. An unpaid "
        "time is released to others.",
    ),
    "next_request": (
        "Tila vaatii hyväksynnän: lähetät varauspyynnön. Kun henkilökunta on hyväksynyt sen, "
        "maksa se Omat varaukset -sivulla {hours} tunnin kuluessa, muuten aika vapautuu.",
        "Lokalen kräver godkännande: du skickar en bokningsförfrågan. När personalen har "
        "godkänt den betalar du den på sidan Mina bokningar inom {hours} timmar, annars "
        "frigörs tiden.",
        "This space needs approval: you send a booking request. Once staff approve it, pay it "
        "on the My reservations page within {hours} hours, or the time is released.",
    ),
    "confirm_hold": (
        "Vahvista ja siirry ostoskoriin",
        "Bekräfta och gå till varukorgen",
        "Confirm and go to the cart",
    ),
    "send_request": ("Lähetä varauspyyntö", "Skicka bokningsförfrågan", "Send the request"),
    "refunded_amount": ("Hyvitetty", "Återbetalt", "Refunded"),
    "cancel_policy_text": (
        "Maksu palautetaan kokonaan, kun perut viimeistään {hours} tuntia ennen "
        "alkua; sen jälkeen palautetaan {percent} %, alkamisen jälkeen ei mitään.",
        "Du får hela avgiften tillbaka om du avbokar senast {hours} timmar "
        "före början; därefter {percent} %, efter början ingenting.",
        "You get all of it back when you cancel at least {hours} hours "
        "before the start; after that {percent} %, and nothing once it has started.",
    ),
    "keep_reservation": ("Älä peru", "Avboka inte", "Keep the reservation"),
    "cannot_cancel": (
        "Tätä varausta ei voi enää perua.",
        "Den här bokningen kan inte längre avbokas.",
        "This reservation can no longer be cancelled.",
    ),
    "pay_by": ("Maksettava viimeistään", "Betalas senast", "Pay by"),
    "payment_in_progress": ("Maksu kesken", "Betalningen pågår", "Payment in progress"),
    "feed_shown_once": (
        "Osoite näytetään vain nyt. Uuden luominen mitätöi vanhan.",
        "Adressen visas bara nu. En ny ersätter den gamla.",
        "The address is shown only now. Creating a new one replaces the old one.",
    ),
    "open_in_calendar": (
        "Avaa kalenterisovelluksessa",
        "Öppna i kalenderappen",
        "Open in your calendar app",
    ),
    "feed_revoked": (
        "Tilausosoite on poistettu.",
        "Prenumerationsadressen är borttagen.",
        "The feed address is revoked.",
    ),
    "add_to_calendar": ("Lisää kalenteriin", "Lägg till i kalendern", "Add to calendar"),
    "actions": ("Toiminnot", "Åtgärder", "Actions"),
    "closure_hits": (
        "Sulkeminen osuu varauksiin",
        "Stängningen träffar bokningar",
        "Reservations hit by the closure",
    ),
    "whole_unit": ("koko toimipiste", "hela verksamhetsstället", "whole unit"),
    "hourly_prices": (
        "Tuntihinnat tästä päivästä alkaen",
        "Timpriser från i dag",
        "Hourly prices from today",
    ),
    "price_resident": ("Turkulaiset", "Åbobor", "Residents of Turku"),
    "price_other": ("Muut", "Övriga", "Others"),
    "price_association": (
        "Yhdistykset ja nuoret",
        "Föreningar och unga",
        "Associations and youth",
    ),
    "price_business": ("Yritykset", "Företag", "Businesses"),
    "edit_product": ("Muokkaa tuotetta", "Redigera produkt", "Edit a product"),
    "on_sale": ("Myynnissä", "Till salu", "On sale"),
    "base_fee": ("Perusmaksu", "Grundavgift", "Base fee"),
    "erp_export": ("Kirjanpidon siirto (SAP)", "Bokföringsexport (SAP)", "Accounting export (SAP)"),
    "reexport": (
        "Siirrä uudelleen jo siirretty päivä",
        "Exportera en redan exporterad dag på nytt",
        "Export a day already exported again",
    ),
    "refund_to_customer": (
        "Asiakkaalle palautetaan",
        "Kunden får tillbaka",
        "Refund to the customer",
    ),
    "footer": ("Turun kaupunki", "Åbo stad", "City of Turku"),
    "accessibility": (
        "Saavutettavuusseloste",
        "Tillgänglighetsutlåtande",
        "Accessibility statement",
    ),
    # resource management (clerk.py)
    "manage_resource": (
        "Asetukset, hinnat ja aukioloajat",
        "Inställningar, priser och öppettider",
        "Settings, prices and opening hours",
    ),
    "base_prices": (
        "Koko päivän tuntihinnat tästä päivästä (ruuhka-aikojen hinnat säilyvät)",
        "Timpriser för hela dagen från i dag (priser för rusningstider behålls)",
        "All-day hourly prices from today (peak-time prices are kept)",
    ),
    "active": ("Käytössä", "I bruk", "In use"),
    "inactive": ("Poistettu käytöstä", "Ur bruk", "Not in use"),
    "deactivate": ("Poista käytöstä", "Ta ur bruk", "Take out of use"),
    "reactivate": ("Ota takaisin käyttöön", "Ta i bruk igen", "Put back in use"),
    "resource_settings": (
        "Asetukset ja peruutusehdot",
        "Inställningar och avbokningsvillkor",
        "Settings and cancellation policy",
    ),
    "resource_name": ("Nimi", "Namn", "Name"),
    "name_fi": ("Nimi suomeksi", "Namn på finska", "Name in Finnish"),
    "name_sv": ("Nimi ruotsiksi", "Namn på svenska", "Name in Swedish"),
    "name_en": ("Nimi englanniksi", "Namn på engelska", "Name in English"),
    "manage_units": ("Toimipisteet", "Verksamhetsställen", "Units"),
    "unit_name": ("Toimipisteen nimi", "Verksamhetsställets namn", "Name of the unit"),
    "address": ("Osoite", "Adress", "Address"),
    "time_zone": ("Aikavyöhyke", "Tidszon", "Time zone"),
    "municipality_code": ("Kuntanumero", "Kommunnummer", "Municipality number"),
    "department": ("Toimiala", "Sektor", "Department"),
    "new_unit": ("Uusi toimipiste", "Nytt verksamhetsställe", "New unit"),
    "no_units": ("Ei toimipisteitä.", "Inga verksamhetsställen.", "No units."),
    "add": ("Lisää", "Lägg till", "Add"),
    "booking_rules": ("Varaussäännöt", "Bokningsregler", "Booking rules"),
    "field_capacity": (
        "Paikkoja (1 = yksi varaaja kerrallaan)",
        "Platser (1 = en bokare åt gången)",
        "Places (1 = one booker at a time)",
    ),
    "field_min_minutes": ("Lyhin varaus (min)", "Kortaste bokning (min)", "Shortest booking (min)"),
    "field_max_minutes": ("Pisin varaus (min)", "Längsta bokning (min)", "Longest booking (min)"),
    "field_slot_minutes": ("Ajan pituus (min)", "Tidens längd (min)", "Slot length (min)"),
    "field_align_minutes": (
        "Alkuajat (min välein)",
        "Starttider (var x:e min)",
        "Start times (every x min)",
    ),
    "field_buffer_before_minutes": (
        "Valmisteluaika ennen (min)",
        "Förberedelsetid före (min)",
        "Buffer before (min)",
    ),
    "field_buffer_after_minutes": (
        "Siivousaika jälkeen (min)",
        "Städtid efter (min)",
        "Buffer after (min)",
    ),
    "field_min_notice_minutes": (
        "Varattava viimeistään (min ennen alkua)",
        "Boka senast (min före start)",
        "Minimum notice (min before start)",
    ),
    "field_max_days_ahead": (
        "Varattavissa enintään (päivää etukäteen)",
        "Bokningsbar högst (dagar i förväg)",
        "Bookable at most (days ahead)",
    ),
    "field_who_may_book": ("Kuka voi varata", "Vem får boka", "Who may book"),
    "who_public": ("Kaikki", "Alla", "Everyone"),
    "who_residents": (
        "Vain kaupungin asukkaat",
        "Endast stadens invånare",
        "Residents of the city only",
    ),
    "who_staff": ("Vain henkilökunta", "Endast personalen", "Staff only"),
    "field_allows_multi_day": (
        "Voi varata usean päivän ajaksi",
        "Kan bokas för flera dagar",
        "May be booked over several days",
    ),
    "cancellation_policy": ("Peruutusehdot", "Avbokningsvillkor", "Cancellation policy"),
    "field_free_cancel_hours": (
        "Maksuton peruutus viimeistään (tuntia ennen alkua)",
        "Avgiftsfri avbokning senast (timmar före start)",
        "Free cancellation until (hours before start)",
    ),
    "field_late_refund_percent": (
        "Palautus myöhemmin perutessa (%)",
        "Återbetalning vid senare avbokning (%)",
        "Refund when cancelled later (%)",
    ),
    "price_rules": ("Hinnat", "Priser", "Price rules"),
    "price_rules_help": (
        "Muuta rivejä, merkitse poistettavat tai lisää uusi rivi valitsemalla asiakasryhmä. "
        "Muuttamattomat rivit (esim. ruuhka-ajat) säilyvät ennallaan.",
        "Ändra rader, markera de som ska tas bort eller lägg till en ny rad med en kundgrupp. "
        "Oförändrade rader (t.ex. rusningstider) behålls.",
        "Change rows, tick those to remove, or add a new row by choosing a customer group. "
        "Rows you do not change (such as peak times) are kept.",
    ),
    "rule": ("Hinta", "Pris", "Rule"),
    "new_rule": ("Uusi hinta", "Nytt pris", "New rule"),
    "new_rule_none": ("– ei uutta –", "– inget nytt –", "– none –"),
    "customer_group": ("Asiakasryhmä", "Kundgrupp", "Customer group"),
    "weekdays": ("Viikonpäivät", "Veckodagar", "Weekdays"),
    "weekday": ("Viikonpäivä", "Veckodag", "Weekday"),
    "price_unit": ("Hinnoitteluperuste", "Prissättningsgrund", "Charged"),
    "unit_hour": ("tunnilta", "per timme", "per hour"),
    "unit_booking": ("varaukselta", "per bokning", "per booking"),
    "unit_free": ("maksuton", "avgiftsfri", "free of charge"),
    "per_place": ("paikkaa kohden", "per plats", "per place"),
    "valid_from": ("Voimassa alkaen", "Gäller från", "Valid from"),
    "valid_until": ("Voimassa asti", "Gäller till", "Valid until"),
    "opening_hours": ("Aukioloajat", "Öppettider", "Opening hours"),
    "hours_own": (
        "Kohteella on omat aukioloajat.",
        "Objektet har egna öppettider.",
        "The resource has its own opening hours.",
    ),
    "hours_unit": (
        "Kohde noudattaa toimipisteen aukioloaikoja.",
        "Objektet följer verksamhetsställets öppettider.",
        "The resource follows its unit's opening hours.",
    ),
    "hours_help": (
        "Tyhjä päivä on suljettu; sulkemisaika 00:00 on keskiyö.",
        "En tom dag är stängd; stängningstid 00:00 är midnatt.",
        "An empty day is closed; closing at 00:00 means midnight.",
    ),
    "opens": ("Avautuu", "Öppnar", "Opens"),
    "closes": ("Sulkeutuu", "Stänger", "Closes"),
    "applies_to": ("Koskee", "Gäller", "Applies to"),
    "scope_resource": ("vain tätä kohdetta", "endast detta objekt", "this resource only"),
    "scope_unit": ("koko toimipistettä", "hela verksamhetsstället", "the whole unit"),
    "upcoming_hours": ("Tulevat aukioloajat", "Kommande öppettider", "Upcoming opening hours"),
    # finance: payment anomalies (staff.py, staff/finance.html)
    "payment_anomalies": ("Maksujen poikkeamat", "Avvikelser i betalningar", "Payment anomalies"),
    "payment_anomalies_help": (
        "Maksunvälittäjän ilmoitukset, jotka eivät täsmänneet maksuun. Maksua ei ole muutettu; "
        "selvitä asia ja kirjaa, mitä tehtiin.",
        "Meddelanden från betalningsförmedlaren som inte stämde med betalningen. Betalningen "
        "har inte ändrats; utred saken och anteckna vad som gjordes.",
        "Notices from the payment provider that did not match the payment. The payment was not "
        "changed; look into it and note what was done.",
    ),
    "anomaly_amount_mismatch": (
        "Summa tai valuutta ei täsmää",
        "Belopp eller valuta stämmer inte",
        "Amount or currency does not match",
    ),
    "payment": ("Maksu", "Betalning", "Payment"),
    "expected_amount": ("Odotettu summa", "Väntat belopp", "Expected amount"),
    "reported_amount": ("Ilmoitettu summa", "Rapporterat belopp", "Reported amount"),
    "recorded_at": ("Kirjattu", "Registrerad", "Recorded"),
    "resolution_note": ("Mitä tehtiin", "Vad som gjordes", "What was done"),
    "resolve": ("Merkitse selvitetyksi", "Markera som utredd", "Mark as resolved"),
    "no_anomalies": (
        "Ei selvittämättömiä poikkeamia.",
        "Inga outredda avvikelser.",
        "No unresolved anomalies.",
    ),
    "done_resolved": (
        "Poikkeama merkitty selvitetyksi.",
        "Avvikelsen markerad som utredd.",
        "The anomaly was marked resolved.",
    ),
    "state_created": ("Luotu", "Skapad", "Created"),
    "state_succeeded": ("Onnistunut", "Lyckad", "Succeeded"),
    "state_failed": ("Epäonnistunut", "Misslyckad", "Failed"),
}
_T.update({k: v for k, v in INSIGHTS_TEXTS.items() if k not in _T})  # the figures page
_T.update({k: v for k, v in AUDIT_TEXTS.items() if k not in _T})  # the audit trail page
_T.update({k: v for k, v in FINANCE_TEXTS.items() if k not in _T})  # the ERP export preview
_T.update({k: v for k, v in GIS_TEXTS.items() if k not in _T})  # the GIS shop's map
_T.update({k: v for k, v in WAITLIST_TEXTS.items() if k not in _T})  # the waiting list
_T.update({k: v for k, v in CONTACT_TEXTS.items() if k not in _T})  # the contact details page
_T.update({k: v for k, v in DESK_TEXTS.items() if k not in _T})  # the service desk


def t(lang: str, key: str) -> str:
    """The text of `key` in `lang` (the key itself when missing, so gaps show in tests)."""
    texts = _T.get(key)
    if texts is None:
        return key.partition("_")[2] if key.startswith(("state_", "merchant_")) else key
    return texts[LANGUAGES.index(lang) if lang in LANGUAGES else 0]


FIELD_ANCHORS: Mapping[str, str] = {
    # a service's field -> the id of the input that holds it on our forms
    "card_number": "card",
    "slot": "slots",
    "starts_at": "slots",
    "ends_at": "h-length",
    "contact.name": "contact_name",
    "contact.email": "contact_email",
    "contact.phone": "contact_phone",
    "contact.purpose": "purpose",
    "length": "h-length",
    "places": "h-places",
    "repeat": "h-repeat",
    "account_line_ids": "debits",
    "debit": "debits",
    "area.coordinates": "area",  # the GIS form the error came back to (gis.html)
    "area.type": "area",
    "area.crs": "area",
    "area_crs": "area",
    "purpose_of_use": "purpose",
    "licence_accepted": "accept_licence",
}


def field_label(lang: str, field: str) -> str:
    """The field's name in `lang` (its code when we have no name for it)."""
    return t(lang, f"field_{field}") if f"field_{field}" in _T else field


def error_message(lang: str, code: Any, field: str, details: Any) -> str:
    """The message beside the field: the most specific text we have for (code, field)."""
    for key in (f"err_{code}_{field}", f"err_{code}"):
        if key in _T:
            message = t(lang, key)
            break
    else:
        message = t(lang, "err_other")
    details = details if isinstance(details, dict) else {}
    if details.get("locked_for_minutes"):
        message += " " + t(lang, "err_locked_minutes").format(n=int(details["locked_for_minutes"]))
    elif details.get("attempts_left") is not None:
        message += f" {t(lang, 'err_attempts_left')}: {int(details['attempts_left'])}."
    return message


def text_keys() -> frozenset[str]:
    return frozenset(_T)


def from_accept_language(header: str) -> str | None:
    """The best supported language of an `Accept-Language` header (q-values honoured)."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else None


def choose(
    query: str | None, cookie: str | None, accept_language: str, user_locale: str | None
) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return from_accept_language(accept_language) or (
        user_locale if user_locale in LANGUAGES else "fi"
    )
