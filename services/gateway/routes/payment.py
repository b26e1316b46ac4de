"""`/api/v1` routes of the payment service, the provider webhook endpoint and the local test
provider's checkout page (`/pay/local/{payment_id}`)."""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import HeaderParameter, PathParameter, URLEncodedBody
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from services.gateway.auth import allow, context_of
from services.gateway.openapi import documented_errors
from services.gateway.routes.factory import (
    ANYONE,
    FINANCE,
    RESIDENT,
    SIGNED_IN,
    Op,
    Spec,
    Who,
    absolute_url,
    operation_route,
    ops_from,
    text_response,
)
from services.gateway.routes.provider_callbacks import deliver
from services.gateway.web.render import page
from shared.contracts import payment as contracts
from shared.errors import ValidationFailed

# Refunds move money out: an integration key needs the "refunds" scope, "finance" (the
# settlement and ERP downloads) is not enough.
REFUNDERS = Who(roles=("staff", "finance", "admin"), scopes=("refunds",))

SPECS: list[Spec] = [
    (
        "POST",
        "/payments",
        "start",
        "StartPaymentRequest",
        "PaymentView",
        RESIDENT,
        "Start paying an order (returns where to send the browser)",
    ),
    (
        "GET",
        "/payments/{payment_id:uuid}",
        "get",
        "GetPaymentRequest",
        "PaymentView",
        SIGNED_IN,
        "One payment (its payer, staff of its merchants, finance, admin)",
    ),
    (
        "POST",
        "/payments/{payment_id:uuid}/local-decision",
        "local_decide",
        "LocalDecideRequest",
        "PaymentView",
        SIGNED_IN,
        "The local test provider: pay, decline or abandon (dev/test)",
    ),
    (
        "POST",
        "/orders/{order_id:uuid}/refunds",
        "refund",
        "RefundRequest",
        "RefundView",
        REFUNDERS,
        "Refund lines of a paid order with a reason",
    ),
    (
        "GET",
        "/finance/settlements",
        "settlement",
        "SettlementRequest",
        "SettlementReport",
        FINANCE,
        "Settlement of one merchant's day",
    ),
    (
        "POST",
        "/finance/erp-exports",
        "erp_export",
        "ErpExportRequest",
        "ErpExport",
        FINANCE,
        "The day's accounting file for SAP (records the export run)",
    ),
    (
        "GET",
        "/finance/reconciliation",
        "reconcile",
        "ReconcileRequest",
        "ReconciliationReport",
        FINANCE,
        "Ledger against the provider's balance transactions and payouts",
    ),
]

# Provider news that did not add up (a success of another amount or currency), for finance.
# Resolving one is not a creation: 200.
ANOMALY_SPECS: list[Spec] = [
    (
        "GET",
        "/payments/anomalies",
        "list_anomalies",
        "ListAnomaliesRequest",
        "AnomalyList",
        FINANCE,
        "Payment anomalies (provider news that did not add up), newest first",
    ),
    (
        "POST",
        "/payments/anomalies/{anomaly_id:int}/resolve",
        "resolve_anomaly",
        "ResolveAnomalyRequest",
        "AnomalyView",
        FINANCE,
        "Resolve a payment anomaly with a note of what was done",
    ),
]

# Operations whose reply is a payment: its `redirect_url` is given as an absolute URL.
PAYMENT_VIEWS = ("start", "get", "local_decide")


def absolute_redirect(reply: Any, request: Request[Any, Any, Any]) -> Any:
    """A payment with its `redirect_url` absolute (from PUBLIC_URL): the local provider's page
    and the Stripe page are addresses of this gateway, which the payment service may only
    know by path."""
    link = absolute_url(request, reply.redirect_url)
    if link == reply.redirect_url:
        return reply
    return msgspec.structs.replace(reply, redirect_url=link)


CSV = "text/csv"


def _csv_ops() -> list[Op]:
    """Finance's downloads: the same operations rendered as CSV files."""
    if not hasattr(contracts, "SettlementRequest") or not hasattr(contracts, "ErpExportRequest"):
        return []
    return [
        Op(
            "GET",
            "/finance/settlements.csv",
            "payment.v1.settlement",
            contracts.SettlementRequest,
            contracts.SettlementReport,
            FINANCE,
            "Settlement of one merchant's day as CSV",
            render=text_response(CSV, "csv", "settlement.csv"),
            response_type=str,
            media_type=CSV,
            extra={"operation_id": "payment_v1_settlement_csv"},
        ),
        Op(
            "POST",
            "/finance/erp-exports.csv",
            "payment.v1.erp_export",
            contracts.ErpExportRequest,
            contracts.ErpExport,
            FINANCE,
            "The day's accounting file for SAP as CSV (records the export run)",
            render=text_response(CSV, "csv", "erp-export.csv"),
            response_type=str,
            media_type=CSV,
            status_code=200,
            extra={"operation_id": "payment_v1_erp_export_csv"},
        ),
    ]


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
    guards=allow(public=True),
    summary="The payment provider's webhook",
    description=(
        "Who may call: the payment provider (the signature is verified by the payment "
        "service, where the provider puts it: a header or the query; the raw body is passed "
        "on byte for byte). A forged signature is refused (400 naming it); every other "
        "delivery is acknowledged."
    ),
    status_code=200,
    opt={"who": ANYONE, "subject": "payment.v1.webhook"},
    **documented_errors(public=True, method="POST"),
)
async def webhook(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    stripe_signature: StripeSignature = None,  # declared for the OpenAPI document; the
    local_signature: LocalSignature = None,  # provider reads its own (registry data)
) -> Any:
    return await deliver(request, provider)


def _page(title: str, body: str) -> Response[str]:
    return Response(
        f'<!doctype html><html lang="fi"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><main><h1>{title}</h1>{body}</main></body></html>",
        media_type="text/html",
    )


@get(
    "/pay/local/{payment_id:str}",
    guards=allow(*SIGNED_IN.roles),
    summary="The local test provider's checkout page",
    description="Who may call: the signed-in payer (development and tests only).",
    media_type="text/html",
    tags=["development"],
    opt={"who": SIGNED_IN, "subject": "payment.v1.get"},
    **documented_errors(public=False, method="GET"),
)
async def local_checkout(
    request: Request[Any, Any, Any], payment_id: Annotated[uuid.UUID, PathParameter()]
) -> Response[str]:
    payment = await request.app.state.services.call(
        "payment.v1.get",
        contracts.GetPaymentRequest(payment_id=payment_id),  # type: ignore[attr-defined]
        contracts.PaymentView,  # type: ignore[attr-defined]
        ctx=context_of(request),
    )
    euros = f"{payment.amount_cents // 100},{payment.amount_cents % 100:02d} €"
    buttons = "".join(
        f'<form method="post" action="/pay/local/{payment.payment_id}">'
        f'<input type="hidden" name="decision" value="{d}">'
        f'<button type="submit">{label}</button></form>'
        for d, label in (
            ("pay", "Maksa / Pay"),
            ("decline", "Hylkää / Decline"),
            ("abandon", "Peruuta / Abandon"),
        )
    )
    return _page(
        "Testimaksu / Test payment",
        f"<p>Tilaus / Order {html.escape(payment.order_number)}: {euros}</p>{buttons}",
    )


@post(
    "/pay/local/{payment_id:str}",
    guards=allow(*SIGNED_IN.roles),
    summary="The local test provider's decision",
    description=(
        "Who may call: the signed-in payer (development and tests only). The form's "
        "`decision` is pay, decline or abandon."
    ),
    media_type="text/html",
    tags=["development"],
    status_code=200,
    opt={"who": SIGNED_IN, "subject": "payment.v1.local_decide"},
    **documented_errors(public=False, method="POST"),
)
async def local_decide(
    request: Request[Any, Any, Any],
    payment_id: Annotated[uuid.UUID, PathParameter()],
    data: URLEncodedBody[dict[str, str]],
) -> Response[str]:
    decision = data.get("decision", "")
    if decision not in ("pay", "decline", "abandon"):
        raise ValidationFailed("choose pay, decline or abandon", field="decision")
    payment = await request.app.state.services.call(
        "payment.v1.local_decide",
        contracts.LocalDecideRequest(  # type: ignore[attr-defined]
            payment_id=payment_id,
            decision=decision,  # type: ignore[arg-type]
            idempotency_key=f"local-{payment_id}-{decision}",
        ),
        contracts.PaymentView,  # type: ignore[attr-defined]
        ctx=context_of(request),
    )
    # The charge is recorded: its webhook may still be on its way (redelivered by the
    # provider until acknowledged), so the page follows the order rather than the payment.
    return page(
        request,
        "payment_done.html",
        decision=decision,
        message=DONE_MESSAGES[decision],
        order_id=payment.order_id,
    )


DONE_MESSAGES = {
    "pay": "payment_received",
    "decline": "payment_declined_note",
    "abandon": "payment_abandoned_note",
}


@get(
    "/pay/{provider:str}/{payment_id:uuid}/cancelled",
    guards=allow(*SIGNED_IN.roles),
    summary="Back from a provider's hosted checkout without paying (its cancel_url)",
    include_in_schema=False,
    opt={"who": SIGNED_IN, "subject": "payment.v1.get"},
)
async def checkout_left(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    payment_id: Annotated[uuid.UUID, PathParameter()],
) -> Response[str]:
    """The resident chooses: back to the provider's page, or cancel the order (its holds are
    released and the cart can be used again). Nothing changes on this GET."""
    payment = await request.app.state.services.call(
        "payment.v1.get",
        contracts.GetPaymentRequest(payment_id=payment_id),  # type: ignore[attr-defined]
        contracts.PaymentView,  # type: ignore[attr-defined]
        ctx=context_of(request),
    )
    back = ""
    if payment.state == "pending" and payment.redirect_url:
        back = (
            f'<p><a id="resume" href="{html.escape(payment.redirect_url)}">'
            "Jatka maksamista / Fortsätt betala / Continue paying</a></p>"
        )
    cancel = (
        f'<form method="post" action="/pay/{html.escape(provider)}/{payment.payment_id}/cancel">'
        '<button type="submit" id="cancel-order">'
        "Peru tilaus / Avbryt beställningen / Cancel the order</button></form>"
    )
    if payment.state == "succeeded":
        back, cancel = (
            f'<p><a href="/orders/{payment.order_id}">Kuitti / Kvitto / Receipt</a></p>',
            "",
        )
    return _page(
        "Maksu keskeytyi / Betalningen avbröts / Payment not completed",
        f"<p>Tilaus / Order {html.escape(payment.order_number)}</p>{back}{cancel}",
    )


@post(
    "/pay/{provider:str}/{payment_id:uuid}/cancel",
    guards=allow(*SIGNED_IN.roles),
    summary="Cancel a payment left on the provider's page",
    include_in_schema=False,
    status_code=303,
    opt={"who": SIGNED_IN, "subject": "payment.v1.cancel"},
)
async def checkout_cancel(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    payment_id: Annotated[uuid.UUID, PathParameter()],
) -> Redirect:
    await request.app.state.services.call(
        "payment.v1.cancel",
        contracts.CancelPaymentRequest(  # type: ignore[attr-defined]
            payment_id=payment_id, idempotency_key=f"cancel-{payment_id}"
        ),
        contracts.PaymentView,  # type: ignore[attr-defined]
        ctx=context_of(request),
    )
    return Redirect(path="/cart?done=done_saved", status_code=303)


# Statuses beyond every route's (OpenAPI): a closed payment window is 410, a refund the
# provider refuses 402.
ERRORS = {"start": (410,), "refund": (402,)}


def routes(*, local_provider: bool = True) -> list[ControllerRouterHandler]:
    """The payment routes; the local test provider's pages (and their OpenAPI entries) only
    with `local_provider` (everywhere but production, where the service refuses it)."""
    views = [spec for spec in SPECS if spec[2] in PAYMENT_VIEWS]
    ops = [
        *ops_from(contracts, "payment", views, errors=ERRORS, render=absolute_redirect),
        *ops_from(
            contracts,
            "payment",
            [spec for spec in SPECS if spec[2] not in PAYMENT_VIEWS],
            errors=ERRORS,
        ),
        *ops_from(contracts, "payment", ANOMALY_SPECS, status_code=200),
        *_csv_ops(),
    ]
    handlers: list[ControllerRouterHandler] = [operation_route(op) for op in ops]
    if hasattr(contracts, "WebhookRequest"):
        handlers.append(webhook)
    if not handlers:
        return []
    routers: list[ControllerRouterHandler] = [
        Router("/api/v1", route_handlers=handlers, tags=["payment"])
    ]
    if local_provider and hasattr(contracts, "LocalDecideRequest"):
        routers.append(Router("/", route_handlers=[local_checkout, local_decide]))
    if hasattr(contracts, "CancelPaymentRequest"):
        routers.append(Router("/", route_handlers=[checkout_left, checkout_cancel]))
    return routers
