"""The receipt of an order: JSON fields and an HTML page (autoescaped Jinja2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg
import jinja2
import msgspec
from babel.numbers import format_currency

from services.cart.catalogue import store as catalogue
from services.cart.domain.gis import credit_line
from services.cart.domain.merchants import merchant_name
from services.cart.orders.service import Orders, visible_order
from shared.contracts.cart import (
    Merchant,
    OrderLineView,
    OrderView,
    Receipt,
    ReceiptLineTimes,
    ReceiptLocalTimes,
    ReceiptMerchant,
    ReceiptRequest,
)
from shared.contracts.common import RequestContext
from shared.errors import Conflict

HELSINKI = ZoneInfo("Europe/Helsinki")

TITLES = {
    "fi": {
        "receipt": "Kuitti",
        "order": "Tilaus",
        "ref": "Viitenumero",
        "total": "Yhteensä",
        "vat": "ALV",
        "net": "Veroton",
        "paid": "Maksettu",
        "seller": "Myyjä",
        "business_id": "Y-tunnus",
        "method": "Maksutapa",
        "refunded": "Hyvitetty",
        "refunded_total": "Hyvitetty yhteensä",
        "line": "Tuote",
        "quantity": "Määrä",
        "vat_pct": "ALV %",
        "price": "Hinta",
        "refund": "Hyvitys",
        "payment_id": "Maksun tunnus",
    },
    "sv": {
        "receipt": "Kvitto",
        "order": "Beställning",
        "ref": "Referensnummer",
        "total": "Totalt",
        "vat": "Moms",
        "net": "Skattefritt",
        "paid": "Betalt",
        "seller": "Säljare",
        "business_id": "FO-nummer",
        "method": "Betalningssätt",
        "refunded": "Återbetalt",
        "refunded_total": "Återbetalt totalt",
        "line": "Produkt",
        "quantity": "Antal",
        "vat_pct": "Moms %",
        "price": "Pris",
        "refund": "Återbetalning",
        "payment_id": "Betalningens id",
    },
    "en": {
        "receipt": "Receipt",
        "order": "Order",
        "ref": "Reference number",
        "total": "Total",
        "vat": "VAT",
        "net": "Net",
        "paid": "Paid",
        "seller": "Seller",
        "business_id": "Business ID",
        "method": "Payment method",
        "refunded": "Refunded",
        "refunded_total": "Refunded in total",
        "line": "Item",
        "quantity": "Quantity",
        "vat_pct": "VAT %",
        "price": "Price",
        "refund": "Refund",
        "payment_id": "Payment id",
    },
}
# The payment method by payment's provider name (and the method, where the provider does not
# say it: "desk cash"), in the receipt's language (an unknown one by its name).
METHODS = {
    "fi": {
        "local": "Testimaksu (kehitys)",
        "stripe": "Maksukortti (Stripe)",
        "paytrail": "Verkkopankki tai kortti (Paytrail)",
        "invoice": "Lasku",
        "free": "Maksuton",
        "desk": "Asiointipiste",
        "desk card": "Kortti (asiointipiste)",
        "desk cash": "Käteinen (asiointipiste)",
    },
    "sv": {
        "local": "Testbetalning (utveckling)",
        "stripe": "Betalkort (Stripe)",
        "paytrail": "Nätbank eller kort (Paytrail)",
        "invoice": "Faktura",
        "free": "Avgiftsfri",
        "desk": "Servicepunkt",
        "desk card": "Kort (servicepunkt)",
        "desk cash": "Kontant (servicepunkt)",
    },
    "en": {
        "local": "Test payment (development)",
        "stripe": "Payment card (Stripe)",
        "paytrail": "Online bank or card (Paytrail)",
        "invoice": "Invoice",
        "free": "Free of charge",
        "desk": "Service point",
        "desk card": "Card (service point)",
        "desk cash": "Cash (service point)",
    },
}


def paid_with(provider: str | None, method: str | None, locale: str) -> str:
    """How the order was paid, in `locale`: the provider's method ("Maksukortti (Stripe)"), a
    service desk payment's card or cash ("Käteinen (asiointipiste)"); "" before payment."""
    if not provider:
        return ""
    names = METHODS[locale]
    return names.get(f"{provider} {method}") or names.get(provider) or provider


_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _eur(cents: int, locale: str) -> str:
    """Euros as the receipt's language writes them (Babel, as notify's mails): €1,234.50 in
    English, 1 234,50 € in Finnish and Swedish (no-break spaces: never '€' alone on a line)."""
    return format_currency(Decimal(cents) / 100, "EUR", locale=locale if locale in TITLES else "fi")


def _pct(bp: int, locale: str) -> str:
    """A VAT rate as the receipt's language writes it: 25.5% in English, 25,5 % otherwise (a
    space that does not break the line; CLDR's patterns)."""
    number = f"{bp / 100:g}"
    return f"{number}%" if locale == "en" else number.replace(".", ",") + "\u00a0%"


_env.filters["eur"] = _eur
_env.filters["pct"] = _pct
_env.filters["local"] = lambda at: local_time(at).strftime("%d.%m.%Y %H:%M")


def local_time(at: datetime) -> datetime:
    """Receipts speak the resident's time: Europe/Helsinki (EET/EEST)."""
    return at.astimezone(HELSINKI)


def local_times(order: OrderView) -> ReceiptLocalTimes:
    """The order's times, and when each reserved line takes place, in Helsinki time."""
    lines = [
        ReceiptLineTimes(
            line_id=line.line.line_id,
            starts_at=local_time(datetime.fromisoformat(str(line.details["starts_at"]))),
            ends_at=local_time(datetime.fromisoformat(str(line.details["ends_at"]))),
        )
        for line in order.lines
        if line.line.kind == "reservation" and {"starts_at", "ends_at"} <= line.details.keys()
    ]
    return ReceiptLocalTimes(
        time_zone=HELSINKI.key,
        created_at=local_time(order.created_at),
        paid_at=local_time(order.paid_at) if order.paid_at else None,
        payment_deadline=local_time(order.payment_deadline),
        lines=lines,
    )


def localized(value: object, locale: str) -> str:
    """A name kept in the line's details in every language ({fi, sv, en}), in `locale`."""
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("fi") or "")
    return ""


def line_text(line: OrderLineView, locale: str) -> str:
    """What the line is, in the receipt's language: a reservation's place and time, a GIS
    product's name (its format and system as sold); other lines as their seller named them."""
    details, description = line.details, line.line.description
    if line.line.kind == "reservation" and details.get("resource_name"):
        place = ", ".join(
            name
            for name in (
                localized(details["resource_name"], locale),
                localized(details.get("unit_name"), locale),
            )
            if name
        )
        if {"starts_at", "ends_at"} <= details.keys():
            starts = local_time(datetime.fromisoformat(str(details["starts_at"])))
            ends = local_time(datetime.fromisoformat(str(details["ends_at"])))
            return f"{place} {starts:%d.%m.%Y %H:%M}–{ends:%H:%M}"
        return place
    if line.line.kind == "gis_product" and details.get("product_name"):
        name = localized(details["product_name"], locale)
        return f"{name} ({description.split(' (', 1)[1]}" if " (" in description else name
    return description


TEMPLATE = _env.from_string(
    """<!doctype html>
<html lang="{{ locale }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/web/site.css">
<title>{{ t.receipt }} {{ order.order_number }}</title></head>
<body><main class="receipt wrap">
<h1>{{ t.receipt }} — {{ t.order }} {{ order.order_number }}</h1>
<p>{{ t.ref }}: <strong>{{ order.reference_number }}</strong> ({{ order.rf_reference }})</p>
{% if order.paid_at %}<p>{{ t.paid }}: {{ order.paid_at|local }}
{% if paid_with %} · {{ t.method }}: {{ paid_with }}{% endif %}
{% if order.payment_id %} · {{ t.payment_id }}: {{ order.payment_id }}{% endif %}</p>{% endif %}
{% for m in merchants %}
<section class="merchant">
<h2>{{ t.seller }}: {{ m.name }} ({{ t.business_id }} {{ m.business_id }})</h2>
<table class="stack long-labels"><thead><tr><th scope="col">{{ t.line }}</th>
<th scope="col">{{ t.quantity }}</th><th scope="col">{{ t.vat_pct }}</th>
<th scope="col">{{ t.price }}</th><th scope="col">{{ t.refund }}</th></tr></thead><tbody>
{% for l in order.lines if l.line.merchant_id == m.merchant_id %}
<tr><td data-label="{{ t.line }}">{{ line_text(l, locale) }}</td>
<td data-label="{{ t.quantity }}">{{ l.line.quantity }}</td>
<td data-label="{{ t.vat_pct }}">{{ l.line.vat_rate_bp|pct(locale) }}</td>
<td data-label="{{ t.price }}">{{ l.line.gross_cents|eur(locale) }}</td>
<td class="refunded" data-label="{{ t.refund }}">{% if l.refunded_cents %}{{ t.refunded }}
{{ l.refunded_cents|eur(locale) }}{% endif %}</td></tr>
{% endfor %}
</tbody></table></section>
{% endfor %}
<table class="vat"><thead><tr><th>{{ t.vat_pct }}</th><th>{{ t.net }}</th><th>{{ t.vat }}</th>
<th>{{ t.total }}</th></tr></thead><tbody>
{% for v in order.vat %}<tr><td>{{ v.vat_rate_bp|pct(locale) }}</td>
<td>{{ v.net_cents|eur(locale) }}</td><td>{{ v.vat_cents|eur(locale) }}</td>
<td>{{ v.gross_cents|eur(locale) }}</td></tr>{% endfor %}
</tbody></table>
<p class="total">{{ t.total }}: <strong>{{ order.total_cents|eur(locale) }}</strong></p>
{% if refunded %}<p class="refunded-total">{{ t.refunded_total }}:
<strong>{{ refunded|eur(locale) }}</strong></p>{% endif %}
{% for c in credit_lines %}<p class="credit">{{ c }}</p>{% endfor %}
</main></body></html>"""
)


class Receipts:
    def __init__(self, pool: asyncpg.Pool, orders: Orders) -> None:
        self.pool = pool
        self.orders = orders

    async def receipt(self, req: ReceiptRequest, ctx: RequestContext) -> Receipt:
        async with self.pool.acquire() as conn:
            order, lines = await visible_order(conn, ctx, req.order_id)
            if order.paid_at is None:
                raise Conflict("a receipt exists once the order is paid", state=order.state)
            view = await self.orders.full_view(conn, ctx, order, lines)
            merchants = await catalogue.merchants(conn)
        if order.merchants:  # the sellers frozen at checkout win over today's registry
            merchants = {**merchants, **msgspec.convert(order.merchants, dict[str, Merchant])}
        sellers = receipt_merchants(view, merchants, req.locale)
        year = view.sale_date.year
        has_gis = any(x.line.kind == "gis_product" for x in view.lines)
        credits = [credit_line(view.order_number, year, req.locale)] if has_gis else []
        html = TEMPLATE.render(
            locale=req.locale,
            t=TITLES[req.locale],
            order=view,
            merchants=sellers,
            paid_with=paid_with(order.payment_provider, order.payment_method, req.locale),
            credit_lines=credits,
            refunded=sum(x.refunded_cents for x in view.lines),
            line_text=line_text,
        )
        return Receipt(
            order=view,
            merchants=sellers,
            payment_provider=order.payment_provider,
            credit_lines=credits,
            html=html,
            local_times=local_times(view),
        )


def receipt_merchants(
    view: OrderView, merchants: dict[str, Merchant], locale: str
) -> list[ReceiptMerchant]:
    """Each seller on the order with what it sold, in the order's line order."""
    groups: dict[str, int] = {}
    for line in view.lines:
        groups[line.line.merchant_id] = groups.get(line.line.merchant_id, 0) + line.line.gross_cents
    return [
        ReceiptMerchant(
            merchant_id=mid,
            name=merchant_name(merchants, mid, locale),
            business_id=merchants[mid].business_id if mid in merchants else "",
            gross_cents=gross,
        )
        for mid, gross in groups.items()
    ]
