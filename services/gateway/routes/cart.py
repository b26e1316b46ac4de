"""`/api/v1` routes of the cart service: cart, checkout, orders, receipts, library, GIS,
merchants, accounting and VAT. Object-level rules (own cart, own orders, own department) are
enforced by the cart service on the principal the gateway passes."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from litestar import Request, Response, Router, get
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream
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
from shared.filestore import FileMissing, FileStore

log = logging.getLogger(__name__)

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
        "GET",
        "/gis/products/records",
        "gis_product_records",
        "GisProductRecordsRequest",
        "GisProductRecordList",
        GIS,
        "The GIS catalogue with each product's ready file (clerks)",
    ),
    (
        "PUT",
        "/gis/products",
        "upsert_gis_product",
        "UpsertGisProductRequest",
        "GisProductRecord",
        GIS,
        "Create or change a GIS product (its ready file by file id)",
    ),
    (
        "POST",
        "/gis/files",
        "gis_upload_file",
        "GisFileUploadRequest",
        "GisFile",
        GIS,
        "Store a product's ready file; the reply's file id is what the product names",
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
        "OrderLineView",
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
async def download(
    request: Request[Any, Any, Any], token: Annotated[str, PathParameter()]
) -> Stream:
    grant = await request.app.state.services.call(
        "cart.v1.download",
        contracts.DownloadRequest(token=token),  # type: ignore[attr-defined]
        contracts.DownloadGrant,  # type: ignore[attr-defined]
        ctx=context_of(request),
    )
    files: FileStore = request.app.state.gis_files
    try:
        reader = await files.open(grant.file_id)
    except FileMissing:
        log.error("GIS file %s of a valid download is missing from the store", grant.file_id)
        raise Gone("the file is no longer available; contact the survey services") from None
    return Stream(
        reader,
        media_type=grant.content_type,
        headers={
            "Content-Length": str(reader.size_bytes),
            "Content-Disposition": _attachment(grant.file_name),
        },
    )


def _attachment(file_name: str) -> str:
    """`attachment` with the name both as plain ASCII and RFC 8187-encoded (RFC 6266)."""
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name, safe='')}"


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
