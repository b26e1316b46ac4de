"""`cart.v1.*` operations: decode -> use case -> reply (the responder maps errors).

`CONTRACT` is what each operation takes and replies; `operations()` binds the use cases to it,
checking their annotations at start-up (shared/operations.py)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from services.cart import admin, carts, gis, gis_delivery, library_service, orders, receipts
from services.cart.deps import Deps
from shared.contracts import cart as c
from shared.contracts.common import RequestContext
from shared.messaging import Operation
from shared.operations import ServiceContract

UseCase = Callable[[Deps, Any, RequestContext], Awaitable[Any]]

CONTRACT = ServiceContract(
    "cart",
    {
        "get_cart": (c.GetCartRequest, c.CartView),
        "add_reservation": (c.AddReservationRequest, c.CartView),
        "add_library_debits": (c.AddLibraryDebitsRequest, c.CartView),
        "add_gis_product": (c.AddGisProductRequest, c.CartView),
        "remove_line": (c.RemoveLineRequest, c.CartView),
        "checkout": (c.CheckoutRequest, c.OrderView),
        "get_order": (c.GetOrderRequest, c.OrderView),
        "my_orders": (c.MyOrdersRequest, c.OrderList),
        "receipt": (c.ReceiptRequest, c.Receipt),
        "order_for_payment": (c.OrderForPaymentRequest, c.OrderForPayment),
        "request_refund": (c.RequestRefundRequest, c.RefundRequestView),
        "list_merchants": (c.ListMerchantsRequest, c.MerchantList),
        "upsert_merchant": (c.UpsertMerchantRequest, c.Merchant),
        "set_accounting": (c.SetAccountingRequest, c.AccountingEntry),
        "list_accounting": (c.ListAccountingRequest, c.AccountingList),
        "set_vat_rate": (c.SetVatRateRequest, c.VatRate),
        "list_vat_rates": (c.ListVatRatesRequest, c.VatRateList),
        "list_gis_products": (c.ListGisProductsRequest, c.GisProductList),
        "gis_product_records": (c.GisProductRecordsRequest, c.GisProductRecordList),
        "upsert_gis_product": (c.UpsertGisProductRequest, c.GisProductRecord),
        "gis_upload_file": (c.GisFileUploadRequest, c.GisFile),
        "gis_queue": (c.GisQueueRequest, c.GisQueue),
        "gis_upload": (c.GisUploadRequest, c.OrderLineView),
        "download": (c.DownloadRequest, c.DownloadGrant),
        "link_library_card": (c.LinkLibraryCardRequest, c.LibraryCard),
        "library_debits": (c.LibraryDebitsRequest, c.LibraryDebits),
        "library_registrations": (c.ListRegistrationsRequest, c.RegistrationList),
        "retry_registration": (c.RegistrationActionRequest, c.Registration),
        "resolve_registration": (c.RegistrationActionRequest, c.Registration),
        "registration_log": (c.RegistrationLogRequest, c.RegistrationLog),
    },
)

# The use case of each operation (`operations()` binds it to the service's dependencies).
USE_CASES: dict[str, UseCase] = {
    "get_cart": carts.get_cart,
    "add_reservation": carts.add_reservation,
    "add_library_debits": carts.add_library_debits,
    "add_gis_product": carts.add_gis_product,
    "remove_line": carts.remove_line,
    "checkout": orders.checkout,
    "get_order": orders.get_order,
    "my_orders": orders.my_orders,
    "receipt": receipts.receipt,
    "order_for_payment": orders.order_for_payment,
    "request_refund": orders.staff_refund,
    "list_merchants": admin.list_merchants,
    "upsert_merchant": admin.upsert_merchant,
    "set_accounting": admin.set_accounting,
    "list_accounting": admin.list_accounting,
    "set_vat_rate": admin.set_vat_rate,
    "list_vat_rates": admin.list_vat_rates,
    "list_gis_products": gis.list_products,
    "gis_product_records": gis.product_records,
    "upsert_gis_product": gis.upsert_product,
    "gis_upload_file": gis.upload_file,
    "gis_queue": gis_delivery.queue,
    "gis_upload": gis_delivery.upload,
    "download": gis_delivery.download,
    "link_library_card": library_service.link_card,
    "library_debits": library_service.debits,
    "library_registrations": library_service.list_registrations,
    "retry_registration": library_service.retry,
    "resolve_registration": library_service.resolve,
    "registration_log": library_service.registration_log,
}


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
    @functools.wraps(use_case)  # its annotations: the contract's check reads them
    async def handler(req: Any, ctx: RequestContext) -> Any:
        return await use_case(deps, req, ctx)

    return handler


def operations(deps: Deps) -> list[Operation[Any]]:
    return CONTRACT.bind(
        {name: _bind(deps, use_case) for name, use_case in USE_CASES.items()}, reads=READS
    )
