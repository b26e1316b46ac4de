"""`cart.v1.*` operations: the typed table of every subject (its request and reply type),
and each bound to its use case: decode -> use case -> reply (the responder maps errors).

`OPERATIONS` needs no running service (a contract test can read it); `operations()` binds
each entry to a use case whose signature the type checker holds to the entry's types, and
refuses to start when an entry is left unbound or bound twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from services.cart.wiring import CartServices
from shared.contracts import cart as c
from shared.contracts.common import RequestContext
from shared.messaging import Operation

Req = TypeVar("Req")
Rep = TypeVar("Rep")


@dataclass(frozen=True)
class Contract(Generic[Req, Rep]):
    """One operation `cart.v1.<name>`: what it takes and what it answers. `read_only`: it
    changes nothing, so a database connection lost under it is tried once more."""

    name: str
    request: type[Req]
    reply: type[Rep]
    read_only: bool = False


GET_CART = Contract("get_cart", c.GetCartRequest, c.CartView)
ADD_RESERVATION = Contract("add_reservation", c.AddReservationRequest, c.CartView)
ADD_LIBRARY_DEBITS = Contract("add_library_debits", c.AddLibraryDebitsRequest, c.CartView)
ADD_GIS_PRODUCT = Contract("add_gis_product", c.AddGisProductRequest, c.CartView)
REMOVE_LINE = Contract("remove_line", c.RemoveLineRequest, c.CartView)
CHECKOUT = Contract("checkout", c.CheckoutRequest, c.OrderView)
GET_ORDER = Contract("get_order", c.GetOrderRequest, c.OrderView, read_only=True)
MY_ORDERS = Contract("my_orders", c.MyOrdersRequest, c.OrderList, read_only=True)
RECEIPT = Contract("receipt", c.ReceiptRequest, c.Receipt, read_only=True)
ORDER_FOR_PAYMENT = Contract(
    "order_for_payment", c.OrderForPaymentRequest, c.OrderForPayment, read_only=True
)
REQUEST_REFUND = Contract("request_refund", c.RequestRefundRequest, c.RefundRequestView)
LIST_MERCHANTS = Contract("list_merchants", c.ListMerchantsRequest, c.MerchantList, read_only=True)
UPSERT_MERCHANT = Contract("upsert_merchant", c.UpsertMerchantRequest, c.Merchant)
SET_ACCOUNTING = Contract("set_accounting", c.SetAccountingRequest, c.AccountingEntry)
LIST_ACCOUNTING = Contract(
    "list_accounting", c.ListAccountingRequest, c.AccountingList, read_only=True
)
SET_VAT_RATE = Contract("set_vat_rate", c.SetVatRateRequest, c.VatRate)
LIST_VAT_RATES = Contract("list_vat_rates", c.ListVatRatesRequest, c.VatRateList, read_only=True)
LIST_GIS_PRODUCTS = Contract(
    "list_gis_products", c.ListGisProductsRequest, c.GisProductList, read_only=True
)
GIS_PRODUCT_RECORDS = Contract(
    "gis_product_records", c.GisProductRecordsRequest, c.GisProductRecordList
)
UPSERT_GIS_PRODUCT = Contract("upsert_gis_product", c.UpsertGisProductRequest, c.GisProductRecord)
GIS_UPLOAD_FILE = Contract("gis_upload_file", c.GisFileUploadRequest, c.GisFile)
GIS_QUEUE = Contract("gis_queue", c.GisQueueRequest, c.GisQueue, read_only=True)
GIS_UPLOAD = Contract("gis_upload", c.GisUploadRequest, c.OrderLineView)
DOWNLOAD = Contract("download", c.DownloadRequest, c.DownloadGrant)
LINK_LIBRARY_CARD = Contract("link_library_card", c.LinkLibraryCardRequest, c.LibraryCard)
LIBRARY_DEBITS = Contract("library_debits", c.LibraryDebitsRequest, c.LibraryDebits)
LIBRARY_REGISTRATIONS = Contract(
    "library_registrations", c.ListRegistrationsRequest, c.RegistrationList, read_only=True
)
RETRY_REGISTRATION = Contract("retry_registration", c.RegistrationActionRequest, c.Registration)
RESOLVE_REGISTRATION = Contract("resolve_registration", c.RegistrationActionRequest, c.Registration)
REGISTRATION_LOG = Contract(
    "registration_log", c.RegistrationLogRequest, c.RegistrationLog, read_only=True
)

OPERATIONS: tuple[Contract[Any, Any], ...] = (
    GET_CART,
    ADD_RESERVATION,
    ADD_LIBRARY_DEBITS,
    ADD_GIS_PRODUCT,
    REMOVE_LINE,
    CHECKOUT,
    GET_ORDER,
    MY_ORDERS,
    RECEIPT,
    ORDER_FOR_PAYMENT,
    REQUEST_REFUND,
    LIST_MERCHANTS,
    UPSERT_MERCHANT,
    SET_ACCOUNTING,
    LIST_ACCOUNTING,
    SET_VAT_RATE,
    LIST_VAT_RATES,
    LIST_GIS_PRODUCTS,
    GIS_PRODUCT_RECORDS,
    UPSERT_GIS_PRODUCT,
    GIS_UPLOAD_FILE,
    GIS_QUEUE,
    GIS_UPLOAD,
    DOWNLOAD,
    LINK_LIBRARY_CARD,
    LIBRARY_DEBITS,
    LIBRARY_REGISTRATIONS,
    RETRY_REGISTRATION,
    RESOLVE_REGISTRATION,
    REGISTRATION_LOG,
)


def serve(
    contract: Contract[Req, Rep], use_case: Callable[[Req, RequestContext], Awaitable[Rep]]
) -> Operation[Req]:
    return Operation(contract.name, contract.request, use_case, read_only=contract.read_only)


def operations(s: CartServices) -> list[Operation[Any]]:
    served: list[Operation[Any]] = [
        serve(GET_CART, s.carts.get_cart),
        serve(ADD_RESERVATION, s.carts.add_reservation),
        serve(ADD_LIBRARY_DEBITS, s.carts.add_library_debits),
        serve(ADD_GIS_PRODUCT, s.carts.add_gis_product),
        serve(REMOVE_LINE, s.carts.remove_line),
        serve(CHECKOUT, s.checkout.checkout),
        serve(GET_ORDER, s.orders.get_order),
        serve(MY_ORDERS, s.orders.my_orders),
        serve(RECEIPT, s.receipts.receipt),
        serve(ORDER_FOR_PAYMENT, s.orders.order_for_payment),
        serve(REQUEST_REFUND, s.orders.staff_refund),
        serve(LIST_MERCHANTS, s.catalogue.list_merchants),
        serve(UPSERT_MERCHANT, s.catalogue.upsert_merchant),
        serve(SET_ACCOUNTING, s.catalogue.set_accounting),
        serve(LIST_ACCOUNTING, s.catalogue.list_accounting),
        serve(SET_VAT_RATE, s.catalogue.set_vat_rate),
        serve(LIST_VAT_RATES, s.catalogue.list_vat_rates),
        serve(LIST_GIS_PRODUCTS, s.gis.list_products),
        serve(GIS_PRODUCT_RECORDS, s.gis.product_records),
        serve(UPSERT_GIS_PRODUCT, s.gis.upsert_product),
        serve(GIS_UPLOAD_FILE, s.gis.upload_file),
        serve(GIS_QUEUE, s.delivery.queue),
        serve(GIS_UPLOAD, s.delivery.upload),
        serve(DOWNLOAD, s.delivery.download),
        serve(LINK_LIBRARY_CARD, s.library.link_card),
        serve(LIBRARY_DEBITS, s.library.debits),
        serve(LIBRARY_REGISTRATIONS, s.library.list_registrations),
        serve(RETRY_REGISTRATION, s.library.retry),
        serve(RESOLVE_REGISTRATION, s.library.resolve),
        serve(REGISTRATION_LOG, s.library.registration_log),
    ]
    names = [o.name for o in served]
    if sorted(names) != sorted(o.name for o in OPERATIONS):
        raise RuntimeError(f"cart operations served {sorted(names)} differ from the table")
    return served
