"""The service operations the web pages use, in one table, called on behalf of the visitor.

`OPS` names each operation's subject and the contract type it replies (the services' `CONTRACT`
tables in services/*/handlers.py; tests/unit/gateway/test_web_ops.py checks they agree).
`fetch(request, op, ReplyType, ...)` decodes a reply into that struct, and refuses a reply type
the table does not declare, so a page reads typed fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from litestar import Request

from services.gateway.auth import context_of
from services.gateway.clients import Services
from shared.contracts import audit as au
from shared.contracts import booking as bk
from shared.contracts import cart as ct
from shared.contracts import desk as dk
from shared.contracts import insights as ins
from shared.contracts import invoicing as inv
from shared.contracts import notify as nt
from shared.contracts import payment as pm
from shared.contracts import webhooks as wh
from shared.errors import ValidationFailed

Rep = TypeVar("Rep")


@dataclass(frozen=True, slots=True)
class Op(Generic[Rep]):
    """One operation: its NATS subject and the contract type it replies."""

    subject: str
    reply: type[Rep]


OPS: dict[str, Op[Any]] = {
    # booking
    "search": Op("booking.v1.search", bk.SearchReply),
    "availability": Op("booking.v1.availability", bk.Availability),
    "hold": Op("booking.v1.hold", bk.HoldReply),
    "quote": Op("booking.v1.quote", bk.QuoteReply),
    "hold_series": Op("booking.v1.hold_series", bk.SeriesReply),
    "my_reservations": Op("booking.v1.my_reservations", bk.ReservationList),
    "get_reservation": Op("booking.v1.get", bk.ReservationView),
    "cancel": Op("booking.v1.cancel", bk.CancelReply),
    "cancel_quote": Op("booking.v1.cancel_quote", bk.CancelQuote),
    "feed_create": Op("booking.v1.calendar_token_create", bk.CalendarToken),
    "feed_revoke": Op("booking.v1.calendar_token_revoke", bk.CalendarToken),
    "calendar_feed": Op("booking.v1.calendar_feed", bk.CalendarText),
    "reservation_ics": Op("booking.v1.reservation_ics", bk.CalendarText),
    "day_view": Op("booking.v1.day_view", bk.DayView),
    "mark_no_show": Op("booking.v1.mark_no_show", bk.ReservationView),
    "approve": Op("booking.v1.approve", bk.ReservationView),
    "deny": Op("booking.v1.deny", bk.ReservationView),
    "add_closure": Op("booking.v1.add_closure", bk.ClosureReply),
    "set_prices": Op("booking.v1.set_prices", bk.Done),
    "list_resources": Op("booking.v1.list_resources", bk.ResourceList),
    "pending_approvals": Op("booking.v1.pending_approvals", bk.ReservationList),
    "get_resource": Op("booking.v1.get_resource", bk.ResourceSettings),
    "update_resource": Op("booking.v1.update_resource", bk.ResourceSummary),
    "set_hours": Op("booking.v1.set_hours", bk.Done),
    "list_units": Op("booking.v1.list_units", bk.UnitList),
    "upsert_unit": Op("booking.v1.upsert_unit", bk.UnitView),
    "join_waitlist": Op("booking.v1.join_waitlist", bk.WaitlistEntryView),
    "my_waitlist": Op("booking.v1.my_waitlist", bk.WaitlistList),
    "leave_waitlist": Op("booking.v1.leave_waitlist", bk.WaitlistEntryView),
    "decline_offer": Op("booking.v1.decline_offer", bk.WaitlistEntryView),
    # cart
    "get_cart": Op("cart.v1.get_cart", ct.CartView),
    "add_reservation": Op("cart.v1.add_reservation", ct.CartView),
    "link_library_card": Op("cart.v1.link_library_card", ct.LibraryCard),
    "library_debits": Op("cart.v1.library_debits", ct.LibraryDebits),
    "add_library_debits": Op("cart.v1.add_library_debits", ct.CartView),
    "gis_catalogue": Op("cart.v1.list_gis_products", ct.GisProductList),
    "add_gis_product": Op("cart.v1.add_gis_product", ct.CartView),
    "remove_line": Op("cart.v1.remove_line", ct.CartView),
    "checkout": Op("cart.v1.checkout", ct.OrderView),
    "get_order": Op("cart.v1.get_order", ct.OrderView),
    "my_orders": Op("cart.v1.my_orders", ct.OrderList),
    "request_refund": Op("cart.v1.request_refund", ct.RefundRequestView),
    "failed_registrations": Op("cart.v1.library_registrations", ct.RegistrationList),
    "retry_registration": Op("cart.v1.retry_registration", ct.Registration),
    "resolve_registration": Op("cart.v1.resolve_registration", ct.Registration),
    "gis_queue": Op("cart.v1.gis_queue", ct.GisQueue),
    "gis_upload": Op("cart.v1.gis_upload", ct.OrderLineView),
    "upsert_gis_product": Op("cart.v1.upsert_gis_product", ct.GisProductRecord),
    "gis_product_records": Op("cart.v1.gis_product_records", ct.GisProductRecordList),
    "gis_upload_file": Op("cart.v1.gis_upload_file", ct.GisFile),
    "list_merchants": Op("cart.v1.list_merchants", ct.MerchantList),
    # payment
    "start_payment": Op("payment.v1.start", pm.PaymentView),
    "settlement": Op("payment.v1.settlement", pm.SettlementReport),
    "reconciliation": Op("payment.v1.reconcile", pm.ReconciliationReport),
    "erp_export": Op("payment.v1.erp_export", pm.ErpExport),
    "erp_preview": Op("payment.v1.erp_preview", pm.ErpPreview),
    "payment_anomalies": Op("payment.v1.list_anomalies", pm.AnomalyList),
    "resolve_anomaly": Op("payment.v1.resolve_anomaly", pm.AnomalyView),
    "my_organisations": Op("payment.v1.list_organisations", inv.OrganisationList),
    # audit
    "audit_search": Op("audit.v1.search", au.AuditSearchReply),
    "audit_verify": Op("audit.v1.verify", au.VerifyReply),
    # notify
    "get_contact": Op("notify.v1.get_contact", nt.ContactView),
    "set_contact": Op("notify.v1.set_contact", nt.ContactView),
    "customer_messages": Op("notify.v1.customer_messages", nt.MessageList),
    "list_webhooks": Op("notify.v1.list_webhooks", wh.WebhookList),
    "create_webhook": Op("notify.v1.create_webhook", wh.WebhookCreated),
    "deactivate_webhook": Op("notify.v1.deactivate_webhook", wh.WebhookView),
    "webhook_deliveries": Op("notify.v1.webhook_deliveries", wh.WebhookDeliveryList),
    "replay_webhook_delivery": Op("notify.v1.replay_webhook_delivery", wh.WebhookDeliveryView),
    # the service desk (issue 19)
    "desk_search": Op("cart.v1.desk_search", dk.DeskSearchReply),
    "desk_customer_create": Op("cart.v1.desk_customer_create", dk.DeskCustomer),
    "desk_hold": Op("booking.v1.desk_hold", bk.HoldReply),
    "desk_cancel": Op("booking.v1.desk_cancel", bk.CancelReply),
    "desk_add_reservation": Op("cart.v1.desk_add_reservation", ct.CartView),
    "desk_checkout": Op("cart.v1.desk_checkout", ct.OrderView),
    "desk_pay": Op("payment.v1.desk_pay", pm.PaymentView),
    "desk_invoice": Op("payment.v1.desk_invoice", inv.InvoiceView),
    "desk_receipt": Op("payment.v1.desk_receipt", dk.DeskReceipt),
    "create_payment_link": Op("payment.v1.create_payment_link", dk.PaymentLink),
    "payment_link": Op("payment.v1.payment_link", dk.PaymentLinkView),
    "pay_by_link": Op("payment.v1.pay_by_link", pm.PaymentView),
    "pay_by_link_local": Op("payment.v1.pay_by_link_local", pm.PaymentView),
    # organisations and invoices (issue 19)
    "list_organisations": Op("payment.v1.list_organisations", inv.OrganisationList),
    "get_organisation": Op("payment.v1.get_organisation", inv.OrganisationView),
    "save_organisation": Op("payment.v1.save_organisation", inv.OrganisationView),
    "list_invoices": Op("payment.v1.list_invoices", inv.InvoiceList),
    "get_invoice": Op("payment.v1.get_invoice", inv.InvoiceView),
    "import_invoice_payments": Op("payment.v1.import_invoice_payments", inv.InvoicePaymentImport),
    "staff_refund": Op("payment.v1.refund", pm.RefundView),
    # insights
    "insights_figures": Op("insights.v1.figures", ins.Figures),
    "insights_figures_csv": Op("insights.v1.figures_csv", ins.CsvText),
}


def new_key() -> str:
    """An idempotency key for a form post (a form carries one, so a double submit is safe)."""
    return uuid.uuid4().hex


async def fetch(
    request: Request[Any, Any, Any],
    op: str,
    reply: type[Rep],
    *,
    checked_as: type[msgspec.Struct] | None = None,
    **fields: Any,
) -> Rep:
    """Call operation `op` with `fields` (None values left out) as the signed-in visitor, its
    reply decoded into `reply`, which must be the type `OPS` declares for `op` (TypeError).

    `checked_as`: the operation's request type, for a form with several fields a visitor
    types. The service names the first field it refuses; then every other field that type
    refuses is named too (`details["also"]`), so the form lists them all at once."""
    declared = OPS[op]
    if declared.reply is not reply:
        raise TypeError(f"{op} replies {declared.reply.__name__}, not {reply.__name__}")
    services: Services = request.app.state.services
    body = {k: v for k, v in fields.items() if v is not None}
    try:
        return await services.call(declared.subject, body, reply, ctx=context_of(request))
    except ValidationFailed as exc:
        if checked_as is not None and str(exc.field or "").split(".")[0] in body:
            also = [name for name in refused_fields(checked_as, body) if name != exc.field]
            if also:
                exc.details["also"] = also
        raise


def refused_fields(
    request_type: type[msgspec.Struct], body: dict[str, Any], prefix: str = ""
) -> list[str]:
    """The fields of `body` whose value its type in `request_type` refuses, each checked on
    its own as the service decodes it (from JSON), in the struct's order; a nested struct's
    by their dotted path (`billing_address.postal_code`)."""
    refused = []
    for field in msgspec.structs.fields(request_type):
        name = field.encode_name
        if name not in body:
            continue
        value = body[name]
        nested = field.type if isinstance(field.type, type) else None
        if nested is not None and issubclass(nested, msgspec.Struct) and isinstance(value, dict):
            refused += refused_fields(nested, value, f"{prefix}{name}.")
            continue
        try:
            msgspec.json.decode(msgspec.json.encode(value), type=field.type)
        except msgspec.ValidationError:
            refused.append(prefix + name)
    return refused
