"""The receipt of an order: JSON fields and an HTML page (autoescaped Jinja2)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2
import msgspec

from services.cart import catalogue_store
from services.cart.deps import Deps
from services.cart.gis import credit_line
from services.cart.orders import _visible_order, full_view
from services.cart.views import merchant_name
from shared.contracts.cart import (
    Merchant,
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
    },
}

_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_env.filters["eur"] = lambda cents: f"{cents / 100:.2f} €".replace(".", ",")
_env.filters["pct"] = lambda bp: f"{bp / 100:g} %".replace(".", ",")
_env.filters["local"] = lambda at: local_time(at).strftime("%d.%m.%Y %H:%M")


def local_time(at: datetime) -> datetime:
    """Receipts speak the resident's time: Europe/Helsinki (EET/EEST)."""
    return at.astimezone(HELSINKI)


def local_times(order: OrderView) -> ReceiptLocalTimes:
    """The order's times, and when each reserved line takes place, in Helsinki time."""
    lines = [
        ReceiptLineTimes(
            line_id=line.line.line_id,
            starts_at=local_time(datetime.fromisoformat(line.details["starts_at"])),
            ends_at=local_time(datetime.fromisoformat(line.details["ends_at"])),
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


TEMPLATE = _env.from_string(
    """<!doctype html>
<html lang="{{ locale }}"><head><meta charset="utf-8">
<title>{{ t.receipt }} {{ order.order_number }}</title></head>
<body><main class="receipt">
<h1>{{ t.receipt }} — {{ t.order }} {{ order.order_number }}</h1>
<p>{{ t.ref }}: <strong>{{ order.reference_number }}</strong> ({{ order.rf_reference }})</p>
{% if order.paid_at %}<p>{{ t.paid }}: {{ order.paid_at|local }}
{% if provider %} · {{ t.method }}: {{ provider }}{% endif %}
{% if order.payment_id %} · {{ order.payment_id }}{% endif %}</p>{% endif %}
{% for m in merchants %}
<section class="merchant">
<h2>{{ t.seller }}: {{ m.name }} ({{ t.business_id }} {{ m.business_id }})</h2>
<table><tbody>
{% for l in order.lines if l.line.merchant_id == m.merchant_id %}
<tr><td>{{ l.line.description }}</td><td>{{ l.line.quantity }}</td>
<td>{{ l.line.vat_rate_bp|pct }}</td><td>{{ l.line.gross_cents|eur }}</td>
<td class="refunded">{% if l.refunded_cents %}{{ t.refunded }} {{ l.refunded_cents|eur }}
{% endif %}</td></tr>
{% endfor %}
</tbody></table></section>
{% endfor %}
<table class="vat"><thead><tr><th>{{ t.vat }}</th><th>{{ t.net }}</th><th>{{ t.vat }}</th>
<th>{{ t.total }}</th></tr></thead><tbody>
{% for v in order.vat %}<tr><td>{{ v.vat_rate_bp|pct }}</td><td>{{ v.net_cents|eur }}</td>
<td>{{ v.vat_cents|eur }}</td><td>{{ v.gross_cents|eur }}</td></tr>{% endfor %}
</tbody></table>
<p class="total">{{ t.total }}: <strong>{{ order.total_cents|eur }}</strong></p>
{% if refunded %}<p class="refunded-total">{{ t.refunded_total }}:
<strong>{{ refunded|eur }}</strong></p>{% endif %}
{% for c in credit_lines %}<p class="credit">{{ c }}</p>{% endfor %}
</main></body></html>"""
)


async def receipt(deps: Deps, req: ReceiptRequest, ctx: RequestContext) -> Receipt:
    async with deps.pool.acquire() as conn:
        order, lines = await _visible_order(conn, ctx, req.order_id)
        if order["paid_at"] is None:
            raise Conflict("a receipt exists once the order is paid", state=order["state"])
        view = await full_view(conn, deps, ctx, order, lines)
        merchants = await catalogue_store.merchants(conn)
    if order["merchants"]:  # the sellers frozen at checkout win over today's registry
        frozen = msgspec.convert(order["merchants"], dict[str, Merchant])
        merchants = {**merchants, **frozen}
    groups: dict[str, int] = {}
    for line in view.lines:
        groups[line.line.merchant_id] = groups.get(line.line.merchant_id, 0) + line.line.gross_cents
    receipt_merchants = [
        ReceiptMerchant(
            merchant_id=mid,
            name=merchant_name(merchants, mid, req.locale),
            business_id=merchants[mid].business_id if mid in merchants else "",
            gross_cents=gross,
        )
        for mid, gross in groups.items()
    ]
    year = view.sale_date.year
    credits = (
        [credit_line(view.order_number, year, req.locale)]
        if any(x.line.kind == "gis_product" for x in view.lines)
        else []
    )
    html = TEMPLATE.render(
        locale=req.locale,
        t=TITLES[req.locale],
        order=view,
        merchants=receipt_merchants,
        provider=order["payment_provider"],
        credit_lines=credits,
        refunded=sum(x.refunded_cents for x in view.lines),
    )
    return Receipt(
        order=view,
        merchants=receipt_merchants,
        payment_provider=order["payment_provider"],
        credit_lines=credits,
        html=html,
        local_times=local_times(view),
    )
