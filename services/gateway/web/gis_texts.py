"""Texts of the GIS shop's area drawing and price table (fi, sv, en), merged into i18n."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str, str]] = {
    "gis_prices_per_hectare": (
        "Hehtaarihinnat (porrastettu)",
        "Hektarpriser (graderade)",
        "Prices per hectare (graduated)",
    ),
    "gis_base_fee": ("Perusmaksu {price}", "Grundavgift {price}", "Base fee {price}"),
    "gis_tier_every": (
        "jokainen hehtaari {price}/ha",
        "varje hektar {price}/ha",
        "every hectare {price}/ha",
    ),
    "gis_tier_range": (
        "{lower}–{upper} ha: {price}/ha",
        "{lower}–{upper} ha: {price}/ha",
        "{lower}–{upper} ha: {price}/ha",
    ),
    "gis_tier_over": (
        "yli {lower} ha: {price}/ha",
        "över {lower} ha: {price}/ha",
        "over {lower} ha: {price}/ha",
    ),
    "gis_minimum": (
        "Vähintään {ha} ha laskutetaan.",
        "Minst {ha} ha debiteras.",
        "At least {ha} ha is charged.",
    ),
    "gis_licence_factor": ("hinta {pct} %", "pris {pct} %", "price {pct} %"),
    "coordinate_system": (
        "Toimituksen koordinaatisto",
        "Leveransens koordinatsystem",
        "Coordinate system of the delivery",
    ),
    "gis_draw_heading": (
        "Piirrä alue kartalle",
        "Rita området på kartan",
        "Draw the area on the map",
    ),
    "gis_draw_help": (
        "Napsauta alueen kulmat kartalle järjestyksessä; alue sulkeutuu itsestään. "
        "Näppäimistöllä: siirrä karttaa nuolinäppäimillä ja lisää kulma kartan keskelle.",
        "Klicka områdets hörn på kartan i tur och ordning; området sluts av sig självt. "
        "Med tangentbordet: flytta kartan med piltangenterna och lägg till ett hörn mitt på "
        "kartan.",
        "Click the corners of the area on the map in order; the area closes by itself. "
        "With the keyboard: move the map with the arrow keys and add a corner at its centre.",
    ),
    "gis_map_label": (
        "Kartta alueen piirtämiseen",
        "Karta för att rita området",
        "Map for drawing the area",
    ),
    "gis_add_centre": (
        "Lisää kulma kartan keskelle",
        "Lägg till ett hörn mitt på kartan",
        "Add a corner at the centre",
    ),
    "gis_undo": ("Poista viimeisin kulma", "Ta bort senaste hörnet", "Remove the last corner"),
    "gis_clear": ("Tyhjennä alue", "Töm området", "Clear the area"),
    "gis_zoom_in": ("Lähennä", "Zooma in", "Zoom in"),
    "gis_zoom_out": ("Loitonna", "Zooma ut", "Zoom out"),
    "gis_live_empty": (
        "Piirrä vähintään kolme kulmaa, niin näet hinnan.",
        "Rita minst tre hörn så ser du priset.",
        "Draw at least three corners to see the price.",
    ),
    "gis_live": (
        "Pinta-ala {area} ha, hinta {price}",
        "Areal {area} ha, pris {price}",
        "Area {area} ha, price {price}",
    ),
    "gis_live_minimum": (
        "(laskutetaan vähintään {ha} ha)",
        "(minst {ha} ha debiteras)",
        "(at least {ha} ha is charged)",
    ),
    "gis_live_crosses": (
        "Alueen reuna leikkaa itseään: piirrä se ilman risteyksiä.",
        "Områdets kant korsar sig själv: rita den utan korsningar.",
        "The outline crosses itself: draw it without crossings.",
    ),
    "gis_live_note": (
        "Lopullinen hinta lasketaan, kun alue lisätään koriin.",
        "Det slutliga priset räknas när området läggs i varukorgen.",
        "The final price is computed when the area is added to the cart.",
    ),
    "gis_area_other_ways": (
        "Tai anna alue tiedostona tai GeoJSON-tekstinä",
        "Eller ge området som fil eller GeoJSON-text",
        "Or give the area as a file or as GeoJSON text",
    ),
    "gis_area_file": (
        "GeoJSON-tiedosto (Polygon tai MultiPolygon)",
        "GeoJSON-fil (Polygon eller MultiPolygon)",
        "GeoJSON file (Polygon or MultiPolygon)",
    ),
    "field_area_file": ("Aluetiedosto", "Områdesfil", "Area file"),
    "field_area.coordinates": ("Alue", "Område", "Area"),
    "field_area.type": ("Alue", "Område", "Area"),
    "field_area.crs": ("Alueen koordinaatisto", "Områdets koordinatsystem", "Area coordinates"),
    "field_area_crs": ("Alueen koordinaatisto", "Områdets koordinatsystem", "Area coordinates"),
    "err_validation_failed_area": (
        "Piirrä alue kartalle tai anna se GeoJSON-muodossa.",
        "Rita området på kartan eller ge det som GeoJSON.",
        "Draw the area on the map or give it as GeoJSON.",
    ),
    "err_validation_failed_area.coordinates": (
        "Alue ei kelpaa: sen on oltava Suomessa, eikä sen reuna saa leikata itseään.",
        "Området duger inte: det ska ligga i Finland och kanten får inte korsa sig själv.",
        "The area is not valid: it must lie in Finland and its outline must not cross itself.",
    ),
    "err_validation_failed_area_file": (
        "Tiedosto ei ole GeoJSON-aluetta (Polygon tai MultiPolygon).",
        "Filen är inte ett GeoJSON-område (Polygon eller MultiPolygon).",
        "The file is not a GeoJSON area (Polygon or MultiPolygon).",
    ),
}
