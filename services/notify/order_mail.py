"""Writing the e-mails about orders: the order paid with its receipt (lines, VAT by rate,
totals), a refund, a library payment recorded in the library system, a bought GIS file ready
with its download link. Same templates, catalogues and sender as the reservations' mails
(render.py); the link of a file is asked from cart when the mail is written (it is the buyer's
credential: it travels in no event), and so are the lines' names in Swedish or English (a
reservation's place and time, a GIS product's name: the lines were sold with Finnish ones)."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from services.notify.domain.model import signs_in
from services.notify.render import Sender, Writer, at_desk, compose
from services.notify.texts import Language
from shared.contracts import cart as c
from shared.contracts.common import RequestContext, system_principal
from shared.errors import NotFound, ServiceError
from shared.messaging import Requester, current_context, subject_for

log = logging.getLogger(__name__)

GET_ORDER = subject_for("cart", "get_order")
TIME_ZONE = "Europe/Helsinki"  # the city's: orders have no unit of their own

SUBJECTS = {
    "order_paid": "Payment received: order {order}",
    "refund_succeeded": "Refund: order {order}",
    "library_payment_registered": "Library payment registered: order {order}",
    "gis_file_ready": "Your file is ready: {file}",
    "payment_due": "Your order {order} is waiting for payment",
}
INTROS = {
    "order_paid": "thank you for your payment. Your receipt is below.",
    "refund_succeeded": "we have refunded money to you.",
    "library_payment_registered": "your payment has been registered in the library system.",
    "gis_file_ready": "the file you ordered is ready to download.",
    "payment_due": "your order is held for you until the time below. Pay before then, or the "
    "order is cancelled and what it holds is released.",
}
ORDER_KINDS = frozenset(SUBJECTS)
# Every text these mails use (tests/unit/notify checks each is in the fi and sv catalogues).
TEXTS = (
    *SUBJECTS.values(),
    *INTROS.values(),
    "Order",
    "Product",
    "VAT",
    "Price",
    "Total",
    "Without VAT",
    "VAT {rate}%",
    "Refunded",
    "Registered",
    "File",
    "Download",
    "The link is valid until {time}.",
    "Your order",
    "Pay by",
    "Pay for the order",
)


class NoLink(Exception):
    """The file's download is no longer there (refunded, expired, used up)."""


@dataclass(frozen=True)
class Receipt:
    """The lines and totals of a receipt, as written in one language."""

    head: tuple[str, str, str]
    lines: list[tuple[str, str, str]]
    totals: list[tuple[str, str]]


@dataclass(frozen=True)
class Content:
    """A mail's rows, its link and the link's label, an optional receipt, and a sentence
    after the intro."""

    rows: list[tuple[str, str]]
    link: str
    link_label: str
    receipt: Receipt | None = None
    after: str = ""


class OrderMails:
    def __init__(
        self,
        writer: Writer,
        translations: dict[str, Any],
        requester: Requester,
        time_zone: str = TIME_ZONE,
    ) -> None:
        self.writer = writer
        self.translations = translations
        self.requester = requester
        self.time_zone = time_zone

    def _ctx(self) -> RequestContext:
        current = current_context.get()
        return RequestContext(
            principal=system_principal("notify"),
            request_id=current.request_id if current else uuid.uuid4().hex,
        )

    async def download_url(self, order_id: uuid.UUID, line_id: uuid.UUID) -> str:
        """The buyer's live link of the line, from cart; `NoLink` when there is none."""
        try:
            order = await self.requester.call(
                GET_ORDER, c.GetOrderRequest(order_id=order_id), c.OrderView, ctx=self._ctx()
            )
        except NotFound:
            raise NoLink from None
        for link in order.downloads:
            if link.line_id == line_id:
                return link.url
        raise NoLink

    async def line_names(self, order_id: str, lang: Language) -> dict[str, str]:
        """Each line's name in the mail's language by line id: a reservation's place and
        time, a GIS product's name, from the details of cart's order. Empty in Finnish (the
        lines' own descriptions are Finnish) and when cart does not answer: the descriptions
        then, the mail is not held back for it."""
        if lang.lang == "fi":
            return {}
        try:
            order = await self.requester.call(
                GET_ORDER, c.GetOrderRequest(order_id=uuid.UUID(order_id)), c.OrderView,
                ctx=self._ctx(),
            )  # fmt: skip
        except ServiceError as exc:
            log.info("order %s: lines named as sold (%s)", order_id, type(exc).__name__)
            return {}
        named = ((str(x.line.line_id), line_name(x, lang)) for x in order.lines)
        return {line_id: name for line_id, name in named if name}

    async def write(
        self,
        *,
        message_id: uuid.UUID,
        kind: str,
        to: str,
        locale: str,
        sender: Sender,
        data: dict[str, Any],
        now: datetime,
        customer: str = "",
    ) -> EmailMessage:
        """The mail of one message (`NoLink`: a file's download is gone). A service-desk
        `customer` gets no link to the order's page (behind a sign-in they do not have); a
        file's download link stays (it opens without one)."""
        lang = Language(locale, self.translations[locale], self.time_zone)
        _ = lang.gettext
        content = await self._content(kind, data, lang, now)
        subject = _(SUBJECTS[kind]).format(
            order=str(data["order_number"]), file=str(data.get("file_name", ""))
        )
        sender_name = sender.name or _("City of Turku")
        values: dict[str, object] = {
            "_": _,
            "lang": lang.lang,
            "subject": subject,
            "intro": at_desk(
                " ".join(part for part in (_(INTROS[kind]), content.after) if part), customer, _
            ),
            "rows": content.rows,
            "receipt": content.receipt,
            "link": content.link if signs_in(customer) or kind == "gis_file_ready" else "",
            "link_label": content.link_label,
            "has_calendar": False,
            "sender_name": sender_name,
            "footer": sender.footer.get(lang.lang) or sender.footer.get("fi", ""),
            "notice": _("This message was sent automatically; replies reach {reply_to}.").format(
                reply_to=sender.reply_to or sender.address
            ),
        }
        return compose(
            message_id=message_id,
            subject=subject,
            sender=sender,
            sender_name=sender_name,
            to=to,
            now=now,
            lang=lang.lang,
            text=self.writer.env.get_template("email.txt").render(values),
            html=self.writer.env.get_template("email.html").render(values),
        )

    async def _content(
        self, kind: str, data: dict[str, Any], lang: Language, now: datetime
    ) -> Content:
        """What the mail of `kind` says beyond its subject and intro."""
        _ = lang.gettext
        rows: list[tuple[str, str]] = [(_("Order"), str(data["order_number"]))]
        order_link = f"{self.writer.public_url}/orders/{data['order_id']}"
        if kind in ("order_paid", "refund_succeeded"):
            names = await self.line_names(str(data["order_id"]), lang)
            lines = [named(line, names) for line in data["lines"]]
            if kind == "order_paid":
                receipt = receipt_of(lines, lang)
                return Content(rows, order_link, _("Your order"), receipt=receipt)
            rows += [(str(line["description"]), lang.money(int(line["amount_cents"])))
                     for line in lines if line["description"]]  # fmt: skip
            rows.append((_("Refunded"), lang.money(int(data["amount_cents"]))))
            return Content(rows, order_link, _("Your order"))
        if kind == "payment_due":
            deadline = datetime.fromisoformat(str(data["payment_deadline"]))
            rows.append((_("Total"), lang.money(int(data["total_cents"]))))
            rows.append((_("Pay by"), local_time(deadline, lang)))
            return Content(rows, order_link, _("Pay for the order"))
        if kind == "library_payment_registered":
            rows.append((str(data["description"]), lang.money(int(data["amount_cents"]))))
            rows.append((_("Registered"), local_time(now, lang)))
            return Content(rows, order_link, _("Your order"))
        url = await self.download_url(
            uuid.UUID(str(data["order_id"])), uuid.UUID(str(data["line_id"]))
        )
        rows += [(_("Product"), str(data["description"])), (_("File"), str(data["file_name"]))]
        expires = local_time(datetime.fromisoformat(str(data["expires_at"])), lang)
        after = _("The link is valid until {time}.").format(time=expires)
        return Content(rows, url, _("Download"), after=after)


def named(line: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The line with its description in the mail's language, when there is one."""
    name = names.get(str(line.get("line_id", "")))
    return {**line, "description": name} if name else line


def _in(value: object, lang: Language) -> str:
    """A name kept in every language ({fi, sv, en}) in `lang` (Finnish when missing)."""
    if isinstance(value, dict):
        return str(value.get(lang.lang) or value.get("fi") or "")
    return ""


def line_name(line: c.OrderLineView, lang: Language) -> str:
    """A reservation's place and time or a GIS product's name (with its format, as sold) in
    `lang`; empty for other lines (their seller's description stays)."""
    details = line.details
    if line.line.kind == "reservation" and details.get("resource_name"):
        where = (_in(details["resource_name"], lang), _in(details.get("unit_name"), lang))
        place = ", ".join(name for name in where if name)
        if {"starts_at", "ends_at"} <= details.keys():
            starts = datetime.fromisoformat(str(details["starts_at"]))
            ends = datetime.fromisoformat(str(details["ends_at"]))
            return f"{place}, {lang.when(starts, ends)}"
        return place
    if line.line.kind == "gis_product" and details.get("product_name"):
        name = _in(details["product_name"], lang)
        sold = line.line.description
        return f"{name} ({sold.split(' (', 1)[1]}" if " (" in sold else name
    return ""


def local_time(at: datetime, lang: Language) -> str:
    """A moment as the language writes it, in the city's zone: "6.12.2026 klo 10.00"."""
    local = at.astimezone(lang.tz)
    day = format_date(local, format="medium", locale=lang.locale)
    return f"{day} {format_time(local, format='short', locale=lang.locale)}"


def vat_rate(bp: int, lang: Language) -> str:
    """A VAT rate in basis points as the language writes it: 2550 -> "25,5" in fi."""
    return str(format_decimal(Decimal(bp) / 100, locale=lang.locale))


def vat_percent(bp: int, lang: Language) -> str:
    """A VAT rate with its sign: "25,5 %" in Finnish and Swedish (a space that does not break
    the line), "25.5%" in English (CLDR's patterns)."""
    return vat_rate(bp, lang) + ("%" if lang.locale == "en" else "\u00a0%")


def receipt_of(lines: list[dict[str, Any]], lang: Language) -> Receipt:
    """The receipt's lines (product, VAT %, price with VAT) and totals: the sum, VAT per rate
    and the sum without VAT."""
    _ = lang.gettext
    by_rate: dict[int, int] = defaultdict(int)
    written = []
    for line in lines:
        rate = int(line["vat_rate_bp"])
        by_rate[rate] += int(line["vat_cents"])
        quantity = int(line.get("quantity", 1))
        name = str(line["description"]) + (f" × {quantity}" if quantity != 1 else "")
        written.append((name, vat_percent(rate, lang), lang.money(int(line["gross_cents"]))))
    totals = [(_("Total"), lang.money(sum(int(line["gross_cents"]) for line in lines)))]
    totals += [
        (
            _("VAT {rate}%").format(rate=vat_rate(rate, lang)).replace(" %", "\u00a0%"),
            lang.money(cents),
        )
        for rate, cents in sorted(by_rate.items(), reverse=True)
    ]
    totals.append((_("Without VAT"), lang.money(sum(int(line["net_cents"]) for line in lines))))
    return Receipt(head=(_("Product"), _("VAT"), _("Price")), lines=written, totals=totals)
