"""`/api/v1` routes of the payment service, the provider webhook endpoint and the local test
provider's checkout page (`/pay/local/{payment_id}`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import HeaderParameter, PathParameter, URLEncodedBody
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from services.gateway.clients import Call
from services.gateway.openapi import documented_errors
from services.gateway.routes.operation import OperationRoute, call_opt
from services.gateway.routes.provider_callbacks import deliver, payment_left
from services.gateway.routes.replies import absolute_url, csv_download
from services.gateway.routes.who import ANYONE, FINANCE, RESIDENT, SIGNED_IN, STAFF, Who
from services.gateway.web.render import page
from shared.contracts import invoicing as i
from shared.contracts import payment as c
from shared.contracts import season as s
from shared.errors import ValidationFailed

# Organisations and invoices (issue 19): contact persons (residents) and staff invoice orders;
# staff keep the organisations; staff and finance follow the invoices.
INVOICERS = Who(roles=("resident", "staff", "admin"))
INVOICE_READERS = Who(roles=("resident", "staff", "finance", "admin"), scopes=("finance",))
# Refunds move money out: an integration key needs the "refunds" scope, "finance" (the
# settlement and ERP downloads) is not enough.
REFUNDERS = Who(roles=("staff", "finance", "admin"), scopes=("refunds",))
CSV = "text/csv"


def absolute_redirect(reply: c.PaymentView, request: Request[Any, Any, Any]) -> c.PaymentView:
    """A payment with its `redirect_url` absolute (from PUBLIC_URL): the local provider's page
    and the Stripe page are addresses of this gateway, which the payment service may only
    know by path."""
    link = absolute_url(request, reply.redirect_url)
    if link == reply.redirect_url:
        return reply
    return msgspec.structs.replace(reply, redirect_url=link)


ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "POST",
        "/payments",
        "payment.v1.start",
        c.StartPaymentRequest,
        c.PaymentView,
        RESIDENT,
        "Start paying an order (returns where to send the browser)",
        render=absolute_redirect,
        errors=(410,),  # the payment window closed
    ),
    OperationRoute(
        "GET",
        "/payments/{payment_id:uuid}",
        "payment.v1.get",
        c.GetPaymentRequest,
        c.PaymentView,
        SIGNED_IN,
        "One payment (its payer, staff of its merchants, finance, admin)",
        render=absolute_redirect,
    ),
    OperationRoute(
        "POST",
        "/payments/{payment_id:uuid}/local-decision",
        "payment.v1.local_decide",
        c.LocalDecideRequest,
        c.PaymentView,
        SIGNED_IN,
        "The local test provider: pay, decline or abandon (dev/test)",
        render=absolute_redirect,
    ),
    OperationRoute(
        "POST",
        "/orders/{order_id:uuid}/refunds",
        "payment.v1.refund",
        c.RefundRequest,
        c.RefundView,
        REFUNDERS,
        "Refund lines of a paid order with a reason",
        errors=(402,),  # the provider refused
    ),
    OperationRoute(
        "GET",
        "/finance/settlements",
        "payment.v1.settlement",
        c.SettlementRequest,
        c.SettlementReport,
        FINANCE,
        "Settlement of one merchant's day",
    ),
    OperationRoute(
        "POST",
        "/finance/erp-exports",
        "payment.v1.erp_export",
        c.ErpExportRequest,
        c.ErpExport,
        FINANCE,
        "The day's accounting file for SAP (records the export run)",
    ),
    OperationRoute(
        "GET",
        "/finance/erp-exports/preview",
        "payment.v1.erp_preview",
        c.ErpPreviewRequest,
        c.ErpPreview,
        FINANCE,
        "The day's accounting file as an export would make it now (records nothing)",
    ),
    OperationRoute(
        "GET",
        "/finance/reconciliation",
        "payment.v1.reconcile",
        c.ReconcileRequest,
        c.ReconciliationReport,
        FINANCE,
        "Ledger against the provider's balance transactions and payouts",
    ),
    OperationRoute(
        "GET",
        "/payments/anomalies",
        "payment.v1.list_anomalies",
        c.ListAnomaliesRequest,
        c.AnomalyList,
        FINANCE,
        "Payment anomalies (provider news that did not add up), newest first",
        status_code=200,  # resolving one is not a creation
    ),
    OperationRoute(
        "POST",
        "/payments/anomalies/{anomaly_id:int}/resolve",
        "payment.v1.resolve_anomaly",
        c.ResolveAnomalyRequest,
        c.AnomalyView,
        FINANCE,
        "Resolve a payment anomaly with a note of what was done",
        status_code=200,  # resolving one is not a creation
    ),
    OperationRoute(
        "POST",
        "/orders/{order_id:uuid}/invoice",
        "payment.v1.start",
        c.StartPaymentRequest,
        c.PaymentView,
        INVOICERS,
        "Pay an order by invoice to an organisation (method invoice; its contact persons, staff)",
        operation_id="payment_v1_start_invoice",
        errors=(410,),  # the payment window closed
    ),
    OperationRoute(
        "POST",
        "/organisations",
        "payment.v1.save_organisation",
        i.SaveOrganisationRequest,
        i.OrganisationView,
        STAFF,
        "Create an organisation as a customer (business ID checked)",
    ),
    OperationRoute(
        "PUT",
        "/organisations/{organisation_id:uuid}",
        "payment.v1.save_organisation",
        i.SaveOrganisationRequest,
        i.OrganisationView,
        STAFF,
        "Change an organisation's details and contact persons",
        operation_id="payment_v1_save_organisation_put",
    ),
    OperationRoute(
        "GET",
        "/organisations",
        "payment.v1.list_organisations",
        i.ListOrganisationsRequest,
        i.OrganisationList,
        SIGNED_IN,
        "Organisations: all of them for staff, one's own for a contact person",
    ),
    OperationRoute(
        "GET",
        "/invoices",
        "payment.v1.list_invoices",
        i.ListInvoicesRequest,
        i.InvoiceList,
        INVOICE_READERS,
        "Invoices and credit notes (overdue=true: unpaid after their due date)",
    ),
    OperationRoute(
        "GET",
        "/organisations/{organisation_id:uuid}",
        "payment.v1.get_organisation",
        i.GetOrganisationRequest,
        i.OrganisationView,
        SIGNED_IN,
        "One organisation (staff; its contact persons)",
    ),
    OperationRoute(
        "GET",
        "/invoices/{invoice_id:uuid}",
        "payment.v1.get_invoice",
        i.GetInvoiceRequest,
        i.InvoiceView,
        INVOICE_READERS,
        "One invoice or credit note with its lines (staff, finance; the contact persons)",
    ),
    OperationRoute(
        "POST",
        "/seasons/{season_id:uuid}/invoices",
        "payment.v1.invoice_season_month",
        s.InvoiceSeasonMonthRequest,
        i.InvoiceView,
        STAFF,
        "Invoice a month of an approved season to its organisation (once per month)",
    ),
    OperationRoute(
        "POST",
        "/finance/invoice-payments",
        "payment.v1.import_invoice_payments",
        i.ImportInvoicePaymentsRequest,
        i.InvoicePaymentImport,
        FINANCE,
        "Import the bank's invoice payments (rows or CSV: reference;amount;date)",
        status_code=200,
    ),
    # Finance's downloads: the same operations rendered as CSV files.
    OperationRoute(
        "GET",
        "/finance/settlements.csv",
        "payment.v1.settlement",
        c.SettlementRequest,
        c.SettlementReport,
        FINANCE,
        "Settlement of one merchant's day as CSV",
        render=csv_download("settlement.csv"),
        response_type=str,
        media_type=CSV,
        operation_id="payment_v1_settlement_csv",
    ),
    OperationRoute(
        "POST",
        "/finance/erp-exports.csv",
        "payment.v1.erp_export",
        c.ErpExportRequest,
        c.ErpExport,
        FINANCE,
        "The day's accounting file for SAP as CSV (records the export run)",
        render=csv_download("erp-export.csv"),
        response_type=str,
        media_type=CSV,
        status_code=200,
        operation_id="payment_v1_erp_export_csv",
    ),
]

# What the hand-written routes below call.
GET_PAYMENT = Call("payment.v1.get", c.GetPaymentRequest, c.PaymentView)
LOCAL_DECIDE = Call("payment.v1.local_decide", c.LocalDecideRequest, c.PaymentView)
CANCEL = Call("payment.v1.cancel", c.CancelPaymentRequest, c.PaymentView)
WEBHOOK = Call("payment.v1.webhook", c.WebhookRequest, c.WebhookAck)


# The webhook's signature travels in a header of each provider's own.
StripeSignature = Annotated[
    str | None,
    HeaderParameter(name="Stripe-Signature", description="Stripe's signature (provider stripe)"),
]
LocalSignature = Annotated[
    str | None,
    HeaderParameter(
        name="X-Local-Signature", description="The local test provider's signature (provider local)"
    ),
]


@post(
    "/payments/webhooks/{provider:str}",
    guards=ANYONE.guards(),
    summary="The payment provider's webhook",
    description=(
        "Who may call: the payment provider (the signature is verified by the payment "
        "service, where the provider puts it: a header or the query; the raw body is passed "
        "on byte for byte). A forged signature is refused (400 naming it); every other "
        "delivery is acknowledged."
    ),
    status_code=200,
    opt=call_opt(WEBHOOK, ANYONE),
    **documented_errors(public=True, method="POST"),
)
async def webhook(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    stripe_signature: StripeSignature = None,  # declared for the OpenAPI document; the
    local_signature: LocalSignature = None,  # provider reads its own (registry data)
) -> c.WebhookAck:
    return await deliver(request, provider)


@get(
    "/pay/local/{payment_id:str}",
    guards=SIGNED_IN.guards(),
    summary="The local test provider's checkout page",
    description="Who may call: the signed-in payer (development and tests only).",
    media_type="text/html",
    tags=["development"],
    opt=call_opt(GET_PAYMENT, SIGNED_IN),
    **documented_errors(public=False, method="GET"),
)
async def local_checkout(
    request: Request[Any, Any, Any], payment_id: Annotated[uuid.UUID, PathParameter()]
) -> Response[str]:
    payment = await GET_PAYMENT(request, c.GetPaymentRequest(payment_id=payment_id))
    return page(  # in the payer's language, as the real providers' pages are
        request,
        "pay_local.html",
        payment_id=payment.payment_id,
        order_number=payment.order_number,
        amount_cents=payment.amount_cents,
    )


@post(
    "/pay/local/{payment_id:str}",
    guards=SIGNED_IN.guards(),
    summary="The local test provider's decision",
    description=(
        "Who may call: the signed-in payer (development and tests only). The form's "
        "`decision` is pay, decline or abandon."
    ),
    media_type="text/html",
    tags=["development"],
    status_code=200,
    opt=call_opt(LOCAL_DECIDE, SIGNED_IN),
    **documented_errors(public=False, method="POST"),
)
async def local_decide(
    request: Request[Any, Any, Any],
    payment_id: Annotated[uuid.UUID, PathParameter()],
    data: URLEncodedBody[dict[str, str]],
) -> Response[str]:
    decision = _decision(data.get("decision", ""))
    payment = await LOCAL_DECIDE(
        request,
        c.LocalDecideRequest(
            payment_id=payment_id,
            decision=decision,
            idempotency_key=f"local-{payment_id}-{decision}",
        ),
    )
    # The charge is recorded: its webhook may still be on its way (redelivered by the
    # provider until acknowledged), so the page follows the order rather than the payment.
    return page(
        request,
        "payment_done.html",
        decision=decision,
        message=DONE_MESSAGES[decision],
        order_id=payment.order_id,
        key=uuid.uuid4().hex,  # a declined payment is tried again from here
    )


DONE_MESSAGES: dict[c.Decision, str] = {
    "pay": "payment_received",
    "decline": "payment_declined_note",
    "abandon": "payment_abandoned_note",
}


def _decision(value: str) -> c.Decision:
    for known in DONE_MESSAGES:
        if known == value:
            return known
    raise ValidationFailed("choose pay, decline or abandon", field="decision")


@get(
    "/pay/{provider:str}/{payment_id:uuid}/cancelled",
    guards=SIGNED_IN.guards(),
    summary="Back from a provider's hosted checkout without paying (its cancel_url)",
    include_in_schema=False,
    opt=call_opt(GET_PAYMENT, SIGNED_IN),
)
async def checkout_left(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    payment_id: Annotated[uuid.UUID, PathParameter()],
) -> Response[str]:
    """The resident chooses: back to the provider's page, or cancel the order (its holds are
    released and the cart can be used again). Nothing changes on this GET."""
    payment = await GET_PAYMENT(request, c.GetPaymentRequest(payment_id=payment_id))
    return payment_left(request, provider, payment, resume_url=payment.redirect_url or "")


@post(
    "/pay/{provider:str}/{payment_id:uuid}/cancel",
    guards=SIGNED_IN.guards(),
    summary="Cancel a payment left on the provider's page",
    include_in_schema=False,
    status_code=303,
    opt=call_opt(CANCEL, SIGNED_IN),
)
async def checkout_cancel(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    payment_id: Annotated[uuid.UUID, PathParameter()],
) -> Redirect:
    await CANCEL(
        request,
        c.CancelPaymentRequest(payment_id=payment_id, idempotency_key=f"cancel-{payment_id}"),
    )
    return Redirect(path="/cart?done=done_saved", status_code=303)


def routes(*, local_provider: bool = True) -> list[ControllerRouterHandler]:
    """The payment routes; the local test provider's pages (and their OpenAPI entries) only
    with `local_provider` (everywhere but production, where the service refuses it)."""
    handlers: list[ControllerRouterHandler] = [r.handler() for r in ROUTES]
    routers: list[ControllerRouterHandler] = [
        Router("/api/v1", route_handlers=[*handlers, webhook], tags=["payment"])
    ]
    if local_provider:
        routers.append(Router("/", route_handlers=[local_checkout, local_decide]))
    routers.append(Router("/", route_handlers=[checkout_left, checkout_cancel]))
    return routers
