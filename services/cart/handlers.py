"""`cart.v1.*` operations: decode -> use case -> reply (the responder maps errors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.cart import admin, carts, gis, gis_delivery, library_service, orders, receipts
from services.cart.deps import Deps
from shared.contracts import cart as c
from shared.contracts.common import RequestContext
from shared.messaging import Operation

UseCase = Callable[[Deps, Any, RequestContext], Awaitable[Any]]

TABLE: list[tuple[str, type, UseCase]] = [
    ("get_cart", c.GetCartRequest, carts.get_cart),
    ("add_reservation", c.AddReservationRequest, carts.add_reservation),
    ("add_library_debits", c.AddLibraryDebitsRequest, carts.add_library_debits),
    ("add_gis_product", c.AddGisProductRequest, carts.add_gis_product),
    ("remove_line", c.RemoveLineRequest, carts.remove_line),
    ("checkout", c.CheckoutRequest, orders.checkout),
    ("get_order", c.GetOrderRequest, orders.get_order),
    ("my_orders", c.MyOrdersRequest, orders.my_orders),
    ("receipt", c.ReceiptRequest, receipts.receipt),
    ("order_for_payment", c.OrderForPaymentRequest, orders.order_for_payment),
    ("request_refund", c.RequestRefundRequest, orders.staff_refund),
    ("list_merchants", c.ListMerchantsRequest, admin.list_merchants),
    ("upsert_merchant", c.UpsertMerchantRequest, admin.upsert_merchant),
    ("set_accounting", c.SetAccountingRequest, admin.set_accounting),
    ("list_accounting", c.ListAccountingRequest, admin.list_accounting),
    ("set_vat_rate", c.SetVatRateRequest, admin.set_vat_rate),
    ("list_vat_rates", c.ListVatRatesRequest, admin.list_vat_rates),
    ("list_gis_products", c.ListGisProductsRequest, gis.list_products),
    ("gis_product_records", c.GisProductRecordsRequest, gis.product_records),
    ("upsert_gis_product", c.UpsertGisProductRequest, gis.upsert_product),
    ("gis_upload_file", c.GisFileUploadRequest, gis.upload_file),
    ("gis_queue", c.GisQueueRequest, gis_delivery.queue),
    ("gis_upload", c.GisUploadRequest, gis_delivery.upload),
    ("download", c.DownloadRequest, gis_delivery.download),
    ("link_library_card", c.LinkLibraryCardRequest, library_service.link_card),
    ("library_debits", c.LibraryDebitsRequest, library_service.debits),
    ("library_registrations", c.ListRegistrationsRequest, library_service.list_registrations),
    ("retry_registration", c.RegistrationActionRequest, library_service.retry),
    ("resolve_registration", c.RegistrationActionRequest, library_service.resolve),
    ("registration_log", c.RegistrationLogRequest, library_service.registration_log),
]


# Operations that change nothing: a database connection lost under one is tried once more.
READS: frozenset[str] = frozenset(
    {
        "get_order",
        "my_orders",
        "receipt",
        "order_for_payment",
        "list_merchants",
        "list_accounting",
        "list_vat_rates",
        "list_gis_products",
        "gis_queue",
        "library_registrations",
        "registration_log",
    }
)


def _bind(deps: Deps, use_case: UseCase) -> Callable[[Any, RequestContext], Awaitable[Any]]:
    async def handler(req: Any, ctx: RequestContext) -> Any:
        return await use_case(deps, req, ctx)

    return handler


def operations(deps: Deps) -> list[Operation[Any]]:
    return [
        Operation(name, request, _bind(deps, uc), read_only=name in READS)
        for name, request, uc in TABLE
    ]
