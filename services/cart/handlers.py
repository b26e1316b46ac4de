"""`cart.v1.*` operations: decode -> use case -> reply (the responder maps errors).

`CONTRACT` is what each operation takes and replies (it needs no running service: the
gateway's contract test reads it); `operations()` binds the use cases to it, checking their
annotations at start-up (shared/operations.py)."""

from __future__ import annotations

from typing import Any

from services.cart import personal_data
from services.cart.desk.service import Desk
from services.cart.wiring import CartServices
from shared.contracts import audit as a
from shared.contracts import cart as c
from shared.contracts import desk as d
from shared.messaging import Operation
from shared.operations import ServiceContract

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
        "refundable": (c.RefundableRequest, c.Refundable),  # internal: booking's
        "list_merchants": (c.ListMerchantsRequest, c.MerchantList),
        "upsert_merchant": (c.UpsertMerchantRequest, c.Merchant),
        "set_accounting": (c.SetAccountingRequest, c.AccountingEntry),
        "list_accounting": (c.ListAccountingRequest, c.AccountingList),
        "accounting_for": (c.AccountingForRequest, c.AccountingDimensions),  # internal
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
        # the service desk (issue 19)
        "desk_search": (d.DeskSearchRequest, d.DeskSearchReply),
        "desk_customer_create": (d.DeskCustomerCreate, d.DeskCustomer),
        "desk_customer": (d.DeskCustomerRequest, d.DeskCustomer),
        "desk_add_reservation": (d.DeskAddReservationRequest, c.CartView),
        "desk_checkout": (d.DeskCheckoutRequest, c.OrderView),
        # residents' data rights (GDPR): internal, the audit service's only
        "personal_data": (a.PersonalDataRequest, a.PersonalData),
        "erase_personal_data": (a.ErasePersonalDataRequest, a.ErasedCounts),
        "stale_customers": (a.StalePersonalDataRequest, a.StaleCustomers),
    },
)

# Operations that change nothing: a database connection lost under one is tried once more.
READS: frozenset[str] = frozenset(
    {
        "get_order",
        "my_orders",
        "receipt",
        "order_for_payment",
        "refundable",
        "list_merchants",
        "list_accounting",
        "accounting_for",
        "list_vat_rates",
        "list_gis_products",
        "gis_queue",
        "library_registrations",
        "registration_log",
        "desk_search",
        "desk_customer",
    }
)
# Operations that only show data (the audit trail records a staff member's call as a view).
VIEWS = frozenset(
    {"get_cart", "gis_product_records", "library_debits", "personal_data", "stale_customers"}
)


def operations(s: CartServices) -> list[Operation[Any]]:
    personal = personal_data.operations(s.orders.pool)
    desk = Desk(s.carts, s.checkout)
    return CONTRACT.bind(
        {
            "get_cart": s.carts.get_cart,
            "add_reservation": s.carts.add_reservation,
            "add_library_debits": s.carts.add_library_debits,
            "add_gis_product": s.carts.add_gis_product,
            "remove_line": s.carts.remove_line,
            "checkout": s.checkout.checkout,
            "get_order": s.orders.get_order,
            "my_orders": s.orders.my_orders,
            "receipt": s.receipts.receipt,
            "order_for_payment": s.orders.order_for_payment,
            "request_refund": s.orders.staff_refund,
            "refundable": s.orders.refundable,
            "list_merchants": s.catalogue.list_merchants,
            "upsert_merchant": s.catalogue.upsert_merchant,
            "set_accounting": s.catalogue.set_accounting,
            "list_accounting": s.catalogue.list_accounting,
            "accounting_for": s.catalogue.accounting_for,
            "set_vat_rate": s.catalogue.set_vat_rate,
            "list_vat_rates": s.catalogue.list_vat_rates,
            "list_gis_products": s.gis.list_products,
            "gis_product_records": s.gis.product_records,
            "upsert_gis_product": s.gis.upsert_product,
            "gis_upload_file": s.gis.upload_file,
            "gis_queue": s.delivery.queue,
            "gis_upload": s.delivery.upload,
            "download": s.delivery.download,
            "link_library_card": s.library.link_card,
            "library_debits": s.library.debits,
            "library_registrations": s.library.list_registrations,
            "retry_registration": s.library.retry,
            "resolve_registration": s.library.resolve,
            "registration_log": s.library.registration_log,
            "desk_search": desk.search,
            "desk_customer_create": desk.create_customer,
            "desk_customer": desk.customer,
            "desk_add_reservation": desk.add_reservation,
            "desk_checkout": desk.checkout,
            "personal_data": personal.personal_data,
            "erase_personal_data": personal.erase_personal_data,
            "stale_customers": personal.stale_customers,
        },
        reads=READS,
    )
