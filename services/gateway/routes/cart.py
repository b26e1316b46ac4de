"""`/api/v1` routes of the cart service: cart, checkout, orders, receipts, library, GIS,
merchants, accounting and VAT. Object-level rules (own cart, own orders, own department) are
enforced by the cart service on the principal the gateway passes."""

from __future__ import annotations

import os
import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, Router, get
from litestar.params import PathParameter, QueryParameter
from litestar.response import File
from litestar.types import ControllerRouterHandler

from services.gateway.auth import allow, context_of
from services.gateway.openapi import documented_errors
from services.gateway.routes.factory import (
    ADMIN,
    ANYONE,
    FINANCE,
    GIS,
    LIBRARY,
    RESIDENT,
    SIGNED_IN,
    STAFF,
    Spec,
    operation_route,
    ops_from,
)
from shared.contracts import cart as contracts
from shared.errors import Gone

SPECS: list[Spec] = [
    ("GET", "/cart", "get_cart", "GetCartRequest", "CartView", RESIDENT, "My open cart"),
    (
        "POST",
        "/cart/reservations",
        "add_reservation",
        "AddReservationRequest",
        "CartView",
        RESIDENT,
        "Add a held reservation to my cart",
    ),
    (
        "POST",
        "/cart/library-debits",
        "add_library_debits",
        "AddLibraryDebitsRequest",
        "CartView",
        RESIDENT,
        "Add library debits to my cart",
    ),
    (
        "POST",
        "/cart/gis-products",
        "add_gis_product",
        "AddGisProductRequest",
        "CartView",
        RESIDENT,
        "Add a GIS product to my cart",
    ),
    (
        "DELETE",
        "/cart/lines/{line_id:uuid}",
        "remove_line",
        "RemoveLineRequest",
        "CartView",
        RESIDENT,
        "Remove a line from my cart",
    ),
    (
        "POST",
        "/cart/checkout",
        "checkout",
        "CheckoutRequest",
        "OrderView",
        RESIDENT,
        "Check out: an order awaiting payment",
    ),
    ("GET", "/orders", "my_orders", "MyOrdersRequest", "OrderList", RESIDENT, "My orders"),
    (
        "GET",
        "/orders/{order_id:uuid}",
        "get_order",
        "GetOrderRequest",
        "OrderView",
        SIGNED_IN,
        "One order (its owner, staff of its merchants, admin)",
    ),
    (
        "GET",
        "/orders/{order_id:uuid}/receipt",
        "receipt",
        "ReceiptRequest",
        "Receipt",
        SIGNED_IN,
        "Receipt of a paid order",
    ),
    (
        "POST",
        "/orders/{order_id:uuid}/lines/{line_id:uuid}/refund",
        "request_refund",
        "RequestRefundRequest",
        "RefundRequestView",
        STAFF,
        "Refund a paid line (staff)",
    ),
    (
        "GET",
        "/merchants",
        "list_merchants",
        "ListMerchantsRequest",
        "MerchantList",
        ANYONE,
        "Merchants (departments)",
    ),
    (
        "PUT",
        "/merchants",
        "upsert_merchant",
        "UpsertMerchantRequest",
        "Merchant",
        ADMIN,
        "Create or change a merchant",
    ),
    (
        "GET",
        "/accounting",
        "list_accounting",
        "ListAccountingRequest",
        "AccountingList",
        FINANCE,
        "Accounting dimensions",
    ),
    (
        "POST",
        "/accounting",
        "set_accounting",
        "SetAccountingRequest",
        "AccountingEntry",
        FINANCE,
        "Add accounting dimensions valid from a date",
    ),
    (
        "GET",
        "/vat-rates",
        "list_vat_rates",
        "ListVatRatesRequest",
        "VatRateList",
        ANYONE,
        "VAT rates",
    ),
    ("POST", "/vat-rates", "set_vat_rate", "SetVatRateRequest", "VatRate", ADMIN, "Add a VAT rate"),
    (
        "GET",
        "/gis/products",
        "list_gis_products",
        "ListGisProductsRequest",
        "GisProductList",
        ANYONE,
        "The GIS catalogue",
    ),
    (
        "PUT",
        "/gis/products",
        "upsert_gis_product",
        "UpsertGisProductRequest",
        "GisProduct",
        GIS,
        "Create or change a GIS product",
    ),
    (
        "GET",
        "/gis/queue",
        "gis_queue",
        "GisQueueRequest",
        "GisQueue",
        GIS,
        "Paid made-to-order GIS lines waiting for a file",
    ),
    (
        "POST",
        "/gis/queue/{line_id:uuid}/file",
        "gis_upload",
        "GisUploadRequest",
        "OrderView",
        GIS,
        "Deliver the file of a queued GIS line",
    ),
    (
        "POST",
        "/library/card",
        "link_library_card",
        "LinkLibraryCardRequest",
        "LibraryCard",
        RESIDENT,
        "Link my library card",
    ),
    (
        "GET",
        "/library/debits",
        "library_debits",
        "LibraryDebitsRequest",
        "LibraryDebits",
        RESIDENT,
        "My outstanding library debits",
    ),
    (
        "GET",
        "/library/registrations",
        "library_registrations",
        "ListRegistrationsRequest",
        "RegistrationList",
        LIBRARY,
        "Library payment registrations (failed by default)",
    ),
    (
        "POST",
        "/library/registrations/{line_id:uuid}/retry",
        "retry_registration",
        "RegistrationActionRequest",
        "Registration",
        LIBRARY,
        "Retry a failed registration",
    ),
    (
        "POST",
        "/library/registrations/{line_id:uuid}/resolve",
        "resolve_registration",
        "RegistrationActionRequest",
        "Registration",
        LIBRARY,
        "Mark a registration done by hand",
    ),
    (
        "GET",
        "/library/registrations/{line_id:uuid}/log",
        "registration_log",
        "RegistrationLogRequest",
        "RegistrationLog",
        LIBRARY,
        "Registration steps of one line",
    ),
]


@get(
    "/orders/{order_id:str}/receipt.html",
    guards=allow(*SIGNED_IN.roles),
    summary="Receipt of a paid order as HTML",
    description="Who may call: the order's owner, staff of its merchants, admin.",
    media_type="text/html",
    opt={"who": SIGNED_IN, "subject": "cart.v1.receipt"},
    **documented_errors(public=False, method="GET"),
)
async def receipt_html(
    request: Request[Any, Any, Any],
    order_id: Annotated[uuid.UUID, PathParameter()],
    locale: Annotated[Literal["fi", "sv", "en"], QueryParameter()] = "fi",
) -> Response[str]:
    receipt = await request.app.state.services.call(
        "cart.v1.receipt",
        contracts.ReceiptRequest(order_id=order_id, locale=locale),
        contracts.Receipt,
        ctx=context_of(request),
    )
    return Response(receipt.html, media_type="text/html")


@get(
    "/downloads/{token:str}",
    guards=allow(public=True),
    summary="Download a purchased GIS file",
    description=(
        "Who may call: anyone holding a valid signed link (the link is the credential). "
        "A forged link is 403, an expired or used-up one 410."
    ),
    media_type="application/octet-stream",
    opt={"who": ANYONE, "subject": "cart.v1.download"},
    **documented_errors(public=True, method="GET", also=(403, 410)),
)
async def download(request: Request[Any, Any, Any], token: Annotated[str, PathParameter()]) -> File:
    grant = await request.app.state.services.call(
        "cart.v1.download",
        contracts.DownloadRequest(token=token),  # type: ignore[attr-defined]
        contracts.DownloadGrant,  # type: ignore[attr-defined]
        ctx=context_of(request),
    )
    if not os.path.isfile(grant.file_path):
        raise Gone("the file is no longer available")
    return File(
        path=grant.file_path,
        filename=grant.file_name,
        media_type=grant.content_type,
        content_disposition_type="attachment",
    )


# Statuses beyond every route's (OpenAPI): a hold that expired is 410 (adding it, checking out);
# inactive GIS products are listed for GIS clerks only (403 for others).
ERRORS = {"add_reservation": (410,), "checkout": (410,), "list_gis_products": (403,)}


def routes() -> list[ControllerRouterHandler]:
    handlers: list[ControllerRouterHandler] = [
        operation_route(op) for op in ops_from(contracts, "cart", SPECS, errors=ERRORS)
    ]
    if hasattr(contracts, "Receipt"):
        handlers.append(receipt_html)
    if hasattr(contracts, "DownloadGrant"):
        handlers.append(download)
    if not handlers:
        return []
    return [Router("/api/v1", route_handlers=handlers, tags=["cart"])]
