"""The service operations the web pages use, in one table, called on behalf of the visitor.

Replies are decoded loosely (plain dicts and lists) so that a page shows whatever fields the
service gives; the pages read them with defaults. When a service adds or renames an operation,
only `OPS` changes here.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request

from services.gateway.auth import context_of
from services.gateway.clients import Services

OPS: dict[str, str] = {
    # booking
    "search": "booking.v1.search",
    "availability": "booking.v1.availability",
    "hold": "booking.v1.hold",
    "quote": "booking.v1.quote",
    "hold_series": "booking.v1.hold_series",
    "my_reservations": "booking.v1.my_reservations",
    "get_reservation": "booking.v1.get",
    "cancel": "booking.v1.cancel",
    "cancel_quote": "booking.v1.cancel_quote",
    "feed_create": "booking.v1.calendar_token_create",
    "feed_revoke": "booking.v1.calendar_token_revoke",
    "calendar_feed": "booking.v1.calendar_feed",
    "reservation_ics": "booking.v1.reservation_ics",
    "day_view": "booking.v1.day_view",
    "mark_no_show": "booking.v1.mark_no_show",
    "approve": "booking.v1.approve",
    "deny": "booking.v1.deny",
    "add_closure": "booking.v1.add_closure",
    "set_prices": "booking.v1.set_prices",
    "list_resources": "booking.v1.list_resources",
    "pending_approvals": "booking.v1.pending_approvals",
    "get_resource": "booking.v1.get_resource",
    "update_resource": "booking.v1.update_resource",
    "set_hours": "booking.v1.set_hours",
    "list_units": "booking.v1.list_units",
    "upsert_unit": "booking.v1.upsert_unit",
    "join_waitlist": "booking.v1.join_waitlist",
    "my_waitlist": "booking.v1.my_waitlist",
    "leave_waitlist": "booking.v1.leave_waitlist",
    "decline_offer": "booking.v1.decline_offer",
    # cart
    "get_cart": "cart.v1.get_cart",
    "add_reservation": "cart.v1.add_reservation",
    "link_library_card": "cart.v1.link_library_card",
    "library_debits": "cart.v1.library_debits",
    "add_library_debits": "cart.v1.add_library_debits",
    "gis_catalogue": "cart.v1.list_gis_products",
    "add_gis_product": "cart.v1.add_gis_product",
    "remove_line": "cart.v1.remove_line",
    "checkout": "cart.v1.checkout",
    "get_order": "cart.v1.get_order",
    "my_orders": "cart.v1.my_orders",
    "request_refund": "cart.v1.request_refund",
    "failed_registrations": "cart.v1.library_registrations",
    "retry_registration": "cart.v1.retry_registration",
    "resolve_registration": "cart.v1.resolve_registration",
    "gis_queue": "cart.v1.gis_queue",
    "gis_upload": "cart.v1.gis_upload",
    "upsert_gis_product": "cart.v1.upsert_gis_product",
    "gis_product_records": "cart.v1.gis_product_records",
    "gis_upload_file": "cart.v1.gis_upload_file",
    "list_merchants": "cart.v1.list_merchants",
    # payment
    "start_payment": "payment.v1.start",
    "settlement": "payment.v1.settlement",
    "reconciliation": "payment.v1.reconcile",
    "erp_export": "payment.v1.erp_export",
    "erp_preview": "payment.v1.erp_preview",
    "payment_anomalies": "payment.v1.list_anomalies",
    "resolve_anomaly": "payment.v1.resolve_anomaly",
    # audit
    "audit_search": "audit.v1.search",
    "audit_verify": "audit.v1.verify",
    # notify
    "get_contact": "notify.v1.get_contact",
    "set_contact": "notify.v1.set_contact",
    # the service desk (issue 19)
    "desk_search": "cart.v1.desk_search",
    "desk_customer_create": "cart.v1.desk_customer_create",
    "desk_hold": "booking.v1.desk_hold",
    "desk_cancel": "booking.v1.desk_cancel",
    "desk_add_reservation": "cart.v1.desk_add_reservation",
    "desk_checkout": "cart.v1.desk_checkout",
    "desk_pay": "payment.v1.desk_pay",
    "desk_receipt": "payment.v1.desk_receipt",
    "create_payment_link": "payment.v1.create_payment_link",
    "payment_link": "payment.v1.payment_link",
    "pay_by_link": "payment.v1.pay_by_link",
    "pay_by_link_local": "payment.v1.pay_by_link_local",
    # insights
    "insights_figures": "insights.v1.figures",
    "insights_figures_csv": "insights.v1.figures_csv",
}


def new_key() -> str:
    """An idempotency key for a form post (a form carries one, so a double submit is safe)."""
    return uuid.uuid4().hex


async def call(request: Request[Any, Any, Any], op: str, **fields: Any) -> Any:
    """Call operation `op` with `fields` (None values left out) as the signed-in visitor."""
    services: Services = request.app.state.services
    body = {k: v for k, v in fields.items() if v is not None}
    return await services.call(OPS[op], body, Any, ctx=context_of(request))
