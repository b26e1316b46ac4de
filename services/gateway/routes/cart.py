"""`/api/v1` routes of the cart service: cart, checkout, orders, receipts, library, GIS,
merchants, accounting and VAT. Object-level rules (own cart, own orders, own department) are
enforced by the cart service on the principal the gateway passes."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from litestar import Request, Response, Router, get
from litestar.openapi import ResponseSpec
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream
from litestar.types import ControllerRouterHandler

from services.gateway.clients import Call
from services.gateway.openapi import documented_errors
from services.gateway.routes.gis_files import ROUTES as FILE_ROUTES
from services.gateway.routes.gis_files import STORE_ERRORS, files_of, streamed
from services.gateway.routes.operation import OperationRoute, call_opt
from services.gateway.routes.who import (
    ADMIN,
    ANYONE,
    FINANCE,
    GIS,
    LIBRARY,
    RESIDENT,
    SIGNED_IN,
    STAFF,
)
from shared.contracts import cart as c
from shared.errors import NotFound, Unavailable
from shared.filestore import FileMissing

log = logging.getLogger(__name__)

# A status beyond every route's (OpenAPI): a hold that expired is 410 (adding it, checking out).
EXPIRED = (410,)

ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "GET",
        "/cart",
        "cart.v1.get_cart",
        c.GetCartRequest,
        c.CartView,
        RESIDENT,
        "My open cart",
    ),
    OperationRoute(
        "POST",
        "/cart/reservations",
        "cart.v1.add_reservation",
        c.AddReservationRequest,
        c.CartView,
        RESIDENT,
        "Add a held reservation to my cart",
        errors=EXPIRED,
    ),
    OperationRoute(
        "POST",
        "/cart/library-debits",
        "cart.v1.add_library_debits",
        c.AddLibraryDebitsRequest,
        c.CartView,
        RESIDENT,
        "Add library debits to my cart",
    ),
    OperationRoute(
        "POST",
        "/cart/gis-products",
        "cart.v1.add_gis_product",
        c.AddGisProductRequest,
        c.CartView,
        RESIDENT,
        "Add a GIS product to my cart",
    ),
    OperationRoute(
        "DELETE",
        "/cart/lines/{line_id:uuid}",
        "cart.v1.remove_line",
        c.RemoveLineRequest,
        c.CartView,
        RESIDENT,
        "Remove a line from my cart",
    ),
    OperationRoute(
        "POST",
        "/cart/checkout",
        "cart.v1.checkout",
        c.CheckoutRequest,
        c.OrderView,
        RESIDENT,
        "Check out: an order awaiting payment",
        errors=EXPIRED,
    ),
    OperationRoute(
        "GET",
        "/orders",
        "cart.v1.my_orders",
        c.MyOrdersRequest,
        c.OrderList,
        RESIDENT,
        "My orders",
    ),
    OperationRoute(
        "GET",
        "/orders/{order_id:uuid}",
        "cart.v1.get_order",
        c.GetOrderRequest,
        c.OrderView,
        SIGNED_IN,
        "One order (its owner, staff of its merchants, admin)",
    ),
    OperationRoute(
        "GET",
        "/orders/{order_id:uuid}/receipt",
        "cart.v1.receipt",
        c.ReceiptRequest,
        c.Receipt,
        SIGNED_IN,
        "Receipt of a paid order",
    ),
    OperationRoute(
        "POST",
        "/orders/{order_id:uuid}/lines/{line_id:uuid}/refund",
        "cart.v1.request_refund",
        c.RequestRefundRequest,
        c.RefundRequestView,
        STAFF,
        "Refund a paid line (staff)",
    ),
    OperationRoute(
        "GET",
        "/merchants",
        "cart.v1.list_merchants",
        c.ListMerchantsRequest,
        c.MerchantList,
        ANYONE,
        "Merchants (departments)",
    ),
    OperationRoute(
        "PUT",
        "/merchants",
        "cart.v1.upsert_merchant",
        c.UpsertMerchantRequest,
        c.Merchant,
        ADMIN,
        "Create or change a merchant",
    ),
    OperationRoute(
        "GET",
        "/accounting",
        "cart.v1.list_accounting",
        c.ListAccountingRequest,
        c.AccountingList,
        FINANCE,
        "Accounting dimensions",
    ),
    OperationRoute(
        "POST",
        "/accounting",
        "cart.v1.set_accounting",
        c.SetAccountingRequest,
        c.AccountingEntry,
        FINANCE,
        "Add accounting dimensions valid from a date",
    ),
    OperationRoute(
        "GET",
        "/vat-rates",
        "cart.v1.list_vat_rates",
        c.ListVatRatesRequest,
        c.VatRateList,
        ANYONE,
        "VAT rates",
    ),
    OperationRoute(
        "POST",
        "/vat-rates",
        "cart.v1.set_vat_rate",
        c.SetVatRateRequest,
        c.VatRate,
        ADMIN,
        "Add a VAT rate",
    ),
    OperationRoute(
        "GET",
        "/gis/products",
        "cart.v1.list_gis_products",
        c.ListGisProductsRequest,
        c.GisProductList,
        ANYONE,
        "The GIS catalogue",
        errors=(403,),  # inactive products: GIS clerks only
    ),
    OperationRoute(
        "GET",
        "/gis/products/records",
        "cart.v1.gis_product_records",
        c.GisProductRecordsRequest,
        c.GisProductRecordList,
        GIS,
        "The GIS catalogue with each product's ready file (clerks)",
    ),
    OperationRoute(
        "PUT",
        "/gis/products",
        "cart.v1.upsert_gis_product",
        c.UpsertGisProductRequest,
        c.GisProductRecord,
        GIS,
        "Create or change a GIS product (its ready file by file id)",
    ),
    OperationRoute(
        "GET",
        "/gis/queue",
        "cart.v1.gis_queue",
        c.GisQueueRequest,
        c.GisQueue,
        GIS,
        "Paid made-to-order GIS lines waiting for a file",
    ),
    OperationRoute(
        "POST",
        "/library/card",
        "cart.v1.link_library_card",
        c.LinkLibraryCardRequest,
        c.LibraryCard,
        RESIDENT,
        "Link my library card",
    ),
    OperationRoute(
        "GET",
        "/library/debits",
        "cart.v1.library_debits",
        c.LibraryDebitsRequest,
        c.LibraryDebits,
        RESIDENT,
        "My outstanding library debits",
    ),
    OperationRoute(
        "GET",
        "/library/registrations",
        "cart.v1.library_registrations",
        c.ListRegistrationsRequest,
        c.RegistrationList,
        LIBRARY,
        "Library payment registrations (failed by default)",
    ),
    OperationRoute(
        "POST",
        "/library/registrations/{line_id:uuid}/retry",
        "cart.v1.retry_registration",
        c.RegistrationActionRequest,
        c.Registration,
        LIBRARY,
        "Retry a failed registration",
    ),
    OperationRoute(
        "POST",
        "/library/registrations/{line_id:uuid}/resolve",
        "cart.v1.resolve_registration",
        c.RegistrationActionRequest,
        c.Registration,
        LIBRARY,
        "Mark a registration done by hand",
    ),
    OperationRoute(
        "GET",
        "/library/registrations/{line_id:uuid}/log",
        "cart.v1.registration_log",
        c.RegistrationLogRequest,
        c.RegistrationLog,
        LIBRARY,
        "Registration steps of one line",
    ),
]

# The file as it was uploaded (its own media type; `application/octet-stream` in the document).
FILE = ResponseSpec(
    data_container=bytes,
    description="The purchased file",
    media_type="application/octet-stream",
    generate_examples=False,
)
RECEIPT = Call("cart.v1.receipt", c.ReceiptRequest, c.Receipt)
DOWNLOAD = Call("cart.v1.download", c.DownloadRequest, c.DownloadGrant)


@get(
    "/orders/{order_id:str}/receipt.html",
    guards=SIGNED_IN.guards(),
    summary="Receipt of a paid order as HTML",
    description="Who may call: the order's owner, staff of its merchants, admin.",
    media_type="text/html",
    opt=call_opt(RECEIPT, SIGNED_IN),
    **documented_errors(public=False, method="GET"),
)
async def receipt_html(
    request: Request[Any, Any, Any],
    order_id: Annotated[uuid.UUID, PathParameter()],
    locale: Annotated[Literal["fi", "sv", "en"], QueryParameter()] = "fi",
) -> Response[str]:
    receipt = await RECEIPT(request, c.ReceiptRequest(order_id=order_id, locale=locale))
    return Response(receipt.html, media_type="text/html")


@get(
    "/downloads/{token:str}",
    guards=ANYONE.guards(),
    summary="Download a purchased GIS file",
    description=(
        "Who may call: anyone holding a valid signed link (the link is the credential). "
        "A forged link is 403, an expired or used-up one 410, a file missing from the store "
        "404. The file streams from the GIS file store (NATS Object Store) in chunks."
    ),
    media_type="application/octet-stream",
    opt=call_opt(DOWNLOAD, ANYONE),
    **documented_errors(public=True, method="GET", also=(403, 410), success=FILE),
)
async def download(
    request: Request[Any, Any, Any], token: Annotated[str, PathParameter()]
) -> Stream:
    grant = await DOWNLOAD(request, c.DownloadRequest(token=token))
    try:
        reader = await (await files_of(request)).open(grant.file_id)
    except FileMissing:
        log.error("GIS file %s of a valid download is missing from the store", grant.file_id)
        raise NotFound("the file is missing; contact the survey services") from None
    except STORE_ERRORS as exc:
        log.error("the GIS file store did not answer: %s", type(exc).__name__)
        raise Unavailable("the file store is not available; try again") from None
    return Stream(
        streamed(grant.file_id, reader),
        media_type=grant.content_type,
        headers={
            # Litestar's Stream takes the route's media type (octet-stream, as documented)
            # over its own: the header names the file's real type (a PDF, a GeoTIFF, ...).
            "Content-Type": grant.content_type,
            "Content-Length": str(reader.size_bytes),
            "Content-Disposition": _attachment(grant.file_name),
        },
    )


def _attachment(file_name: str) -> str:
    """`attachment` with the name both as plain ASCII and RFC 8187-encoded (RFC 6266)."""
    plain = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in file_name
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def routes() -> list[ControllerRouterHandler]:
    handlers: list[ControllerRouterHandler] = [r.handler() for r in ROUTES]
    return [
        Router(
            "/api/v1",
            route_handlers=[*handlers, *FILE_ROUTES, receipt_html, download],
            tags=["cart"],
        )
    ]
