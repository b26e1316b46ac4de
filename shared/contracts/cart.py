"""Contracts of the cart service: `cart.v1.*` requests and `evt.cart.*` events.

`OrderLineSnapshot` is the frozen line that payment books into its ledger; the cart service
adds the rest of its operations below the cross-service part.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

import msgspec

from shared.contracts.accounting import (
    CompanyCode,
    CostCentre,
    CostCentreOrAny,
    GlAccount,
    InternalOrder,
    MerchantId,
    OptionalVatRateCode,
    ProfitCentre,
    SalesOrganisation,
    SapVatCode,
    VatRateCode,
)
from shared.contracts.common import Event, register

SERVICE = "cart"

# Bounds of every paged list: a bad page is `validation_failed` naming the field.
Limit = Annotated[int, msgspec.Meta(ge=1, le=200, description="rows per page (1-200)")]
Offset = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000, description="rows to skip")]

LineKind = Literal["reservation", "library_debit", "gis_product"]
OrderState = Literal[
    "awaiting_payment", "paid", "fulfilled", "partially_refunded", "refunded", "cancelled"
]


class AccountingDimensions(msgspec.Struct, frozen=True, kw_only=True):
    """SAP dimensions valid on the day of the sale (data, never constants in code)."""

    company_code: CompanyCode
    sales_organisation: SalesOrganisation = ""
    gl_account: GlAccount
    profit_centre: ProfitCentre
    internal_order: InternalOrder = ""
    vat_code: SapVatCode


class OrderLineSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    line_id: uuid.UUID
    kind: LineKind
    reference: str  # reservation id, library account line ids, GIS product/variant
    description: str
    merchant_id: str
    cost_centre: str
    quantity: int = 1
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    accounting: AccountingDimensions
    # A reservation booked (and priced) for this organisation: invoiced only to it.
    organisation_id: uuid.UUID | None = None


class OrderForPaymentRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.order_for_payment`: what payment needs to take money for an order."""

    order_id: uuid.UUID


class OrderForPayment(msgspec.Struct, frozen=True, kw_only=True):
    order_id: uuid.UUID
    order_number: str
    customer: str
    state: OrderState
    total_cents: int
    currency: str = "EUR"
    reference_number: str
    sale_date: date
    payment_deadline: datetime
    lines: list[OrderLineSnapshot]


class RefundableRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.refundable` (booking only, as itself): what is left to give back of the paid
    order line of a reservation, for a cancellation to promise no more than that."""

    reservation_id: uuid.UUID


class Refundable(msgspec.Struct, frozen=True, kw_only=True):
    # None: the reservation is on no paid order line (nothing of cart's to cap)
    refundable_cents: int | None = None


class RefundLine(msgspec.Struct, frozen=True, kw_only=True):
    line_id: uuid.UUID
    amount_cents: int


# --- events ---------------------------------------------------------------------------------


class OrderEvent(Event, frozen=True, kw_only=True):
    order_id: uuid.UUID
    order_number: str
    customer: str


class OrderCreated(OrderEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.cart.order.created"
    total_cents: int
    payment_deadline: datetime
    lines: list[OrderLineSnapshot]


class OrderPaid(OrderEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.cart.order.paid"
    payment_id: uuid.UUID
    lines: list[OrderLineSnapshot]


class OrderFulfilled(OrderEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.cart.order.fulfilled"


class OrderCancelled(OrderEvent, frozen=True, kw_only=True):
    """Payment abandoned or window expired: booking releases the order's holds."""

    subject: ClassVar[str] = "evt.cart.order.cancelled"
    reason: str
    lines: list[OrderLineSnapshot]


class RefundRequested(Event, frozen=True, kw_only=True):
    """Cart asks payment to give money back for some lines of a paid order.

    `refund_request_id` is the idempotency key of the refund all the way to the provider.
    """

    subject: ClassVar[str] = "evt.cart.refund.requested"
    refund_request_id: uuid.UUID
    order_id: uuid.UUID
    lines: list[RefundLine]
    reason: Literal["customer_cancellation", "unfulfillable", "staff", "paid_after_cancel"]
    note: str = ""


class LibraryPaymentRecorded(OrderEvent, frozen=True, kw_only=True):
    """A paid library line was recorded in the library system (Koha): the patron's debits
    are paid there. Once per line; `amount_cents` is what the line paid for."""

    subject: ClassVar[str] = "evt.cart.library.payment_recorded"
    line_id: uuid.UUID
    merchant_id: str
    description: str
    amount_cents: int


class GisFileReady(OrderEvent, frozen=True, kw_only=True):
    """A bought GIS file can be downloaded (a ready file at payment, a made-to-order one when
    the GIS clerk uploads it). The signed link is not in the event (the link is the buyer's
    credential): the buyer reads it from their order (`cart.v1.get_order`)."""

    subject: ClassVar[str] = "evt.cart.gis.file_ready"
    line_id: uuid.UUID
    merchant_id: str
    description: str
    file_name: str
    expires_at: datetime


register(
    OrderCreated,
    OrderPaid,
    OrderFulfilled,
    OrderCancelled,
    RefundRequested,
    LibraryPaymentRecorded,
    GisFileReady,
)


# --- the cart service's own operations (gateway -> cart) --------------------------------------
# Residents act on their own cart/orders; staff roles as named per operation.


class CartLineView(msgspec.Struct, frozen=True, kw_only=True):
    line_id: uuid.UUID
    kind: LineKind
    reference: str
    description: str
    merchant_id: str
    quantity: int
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    details: dict[str, object] = msgspec.field(default_factory=dict)


class VatBreakdownRow(msgspec.Struct, frozen=True, kw_only=True):
    vat_rate_bp: int
    net_cents: int
    vat_cents: int
    gross_cents: int


class MerchantGroup(msgspec.Struct, frozen=True, kw_only=True):
    merchant_id: str
    merchant_name: str
    business_id: str
    gross_cents: int
    lines: list[CartLineView]


class CartMessage(msgspec.Struct, frozen=True, kw_only=True):
    code: str  # line_removed_hold_expired | line_removed_cancelled | library_balance_changed
    message: str
    created_at: datetime


class CartView(msgspec.Struct, frozen=True, kw_only=True):
    cart_id: uuid.UUID | None
    customer: str
    lines: list[CartLineView]
    merchants: list[MerchantGroup]
    vat: list[VatBreakdownRow]
    total_cents: int
    net_cents: int
    vat_cents: int
    messages: list[CartMessage] = msgspec.field(default_factory=list)


class GetCartRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.get_cart`: the signed-in resident's open cart (and unseen messages)."""


class AddReservationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.add_reservation`: put one's own held reservation into the cart."""

    reservation_id: uuid.UUID
    idempotency_key: str | None = None


class AddLibraryDebitsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.add_library_debits`: chosen outstanding debits (Koha account line ids)."""

    account_line_ids: list[int]
    idempotency_key: str | None = None


class AddGisProductRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.add_gis_product`: a catalogue product with its variant. Products priced by
    area need `area`, a GeoJSON Polygon or MultiPolygon as RFC 7946 defines it: positions
    [longitude, latitude] in WGS84, as a web map draws them. Coordinates in metres are
    accepted when `area_crs` names their system (ETRS-TM35FIN = EPSG:3067, ETRS-GK23 =
    EPSG:3877, any ETRS-GK19..31); a `crs` member inside the GeoJSON is refused. The area is
    transformed to `coordinate_system` (the system the material is delivered in) and measured
    there, overlapping parts counted once."""

    product_id: str
    format: str
    coordinate_system: str = "ETRS-GK23"
    licence_type: str
    quantity: int = msgspec.field(default=1)
    area: dict[str, object] | None = None
    area_crs: Annotated[
        str,
        msgspec.Meta(
            description="the system of `area`'s positions: EPSG:4326 (WGS84 longitude/latitude, "
            "RFC 7946), EPSG:3067 (ETRS-TM35FIN) or EPSG:3873..3885 (ETRS-GK19..31)"
        ),
    ] = "EPSG:4326"
    purpose_of_use: str
    licence_accepted: bool
    idempotency_key: str | None = None


class RemoveLineRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.remove_line`."""

    line_id: uuid.UUID
    idempotency_key: str | None = None


class CheckoutRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.checkout`: freeze the open cart into an order awaiting payment."""

    idempotency_key: str | None = None


class OrderLineView(msgspec.Struct, frozen=True, kw_only=True):
    line: OrderLineSnapshot
    state: str
    refunded_cents: int = 0
    details: dict[str, object] = msgspec.field(default_factory=dict)


class DownloadLink(msgspec.Struct, frozen=True, kw_only=True):
    line_id: uuid.UUID
    url: Annotated[str, msgspec.Meta(description="the absolute download address (the link)")]
    token: str  # the signed credential inside `url`
    file_name: str
    expires_at: datetime
    downloads_left: int


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    order_id: uuid.UUID
    order_number: str
    reference_number: str
    rf_reference: str
    customer: str
    state: OrderState
    total_cents: int
    net_cents: int
    vat_cents: int
    vat: list[VatBreakdownRow]
    sale_date: date
    payment_deadline: datetime
    created_at: datetime
    paid_at: datetime | None = None
    payment_id: uuid.UUID | None = None
    lines: list[OrderLineView]
    downloads: list[DownloadLink] = msgspec.field(default_factory=list)


class GetOrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.get_order`: the owner, admins, or staff of a merchant on the order."""

    order_id: uuid.UUID


class MyOrdersRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.my_orders`: the signed-in resident's orders, newest first."""

    limit: Limit = 50
    offset: Offset = 0


class OrderList(msgspec.Struct, frozen=True, kw_only=True):
    orders: list[OrderView]
    next_offset: int | None = None  # the offset of the next page; None: this was the last


class ReceiptRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.receipt`: receipt of a paid order (JSON fields + rendered HTML)."""

    order_id: uuid.UUID
    locale: Literal["fi", "sv", "en"] = "fi"


class ReceiptMerchant(msgspec.Struct, frozen=True, kw_only=True):
    merchant_id: str
    name: str
    business_id: str
    gross_cents: int


class ReceiptLineTimes(msgspec.Struct, frozen=True, kw_only=True):
    """When a reserved line takes place, in local time with its UTC offset."""

    line_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


class ReceiptLocalTimes(msgspec.Struct, frozen=True, kw_only=True):
    """The receipt's times as a resident reads them: local time in `time_zone` with its UTC
    offset (ISO 8601, e.g. `2026-11-23T14:05:00+02:00`); the order's own fields are UTC."""

    time_zone: str = "Europe/Helsinki"
    created_at: datetime
    paid_at: datetime | None = None
    payment_deadline: datetime
    lines: list[ReceiptLineTimes] = msgspec.field(default_factory=list)


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    order: OrderView
    merchants: list[ReceiptMerchant]
    payment_provider: str | None
    credit_lines: list[str]
    html: str
    local_times: ReceiptLocalTimes


class RequestRefundRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.request_refund`: staff of the line's merchant (or admin) refunds a paid line."""

    order_id: uuid.UUID
    line_id: uuid.UUID
    amount_cents: int | None = None  # None: what is left of the line
    note: str = ""
    idempotency_key: str | None = None


class RefundRequestView(msgspec.Struct, frozen=True, kw_only=True):
    refund_request_id: uuid.UUID
    order_id: uuid.UUID
    line_id: uuid.UUID
    amount_cents: int
    reason: str


# Merchants, accounting, VAT (admin) -----------------------------------------------------


class Merchant(msgspec.Struct, frozen=True, kw_only=True):
    """A department selling through the cart. `cost_centre` and `vat_code` apply to lines the
    cart prices itself for it (library debits: e.g. `library` and `zero`, the 0 % rate of
    public-law charges); reservations and GIS products carry their own."""

    id: MerchantId
    name_fi: str
    name_sv: str | None = None
    name_en: str | None = None
    business_id: str
    line_kinds: list[LineKind] = msgspec.field(default_factory=list)
    active: bool = True
    cost_centre: CostCentreOrAny = "*"
    vat_code: OptionalVatRateCode = ""


class ListMerchantsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.list_merchants`: anyone."""


class MerchantList(msgspec.Struct, frozen=True, kw_only=True):
    merchants: list[Merchant]


class UpsertMerchantRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.upsert_merchant`: admin."""

    merchant: Merchant
    idempotency_key: str | None = None


class AccountingEntry(msgspec.Struct, frozen=True, kw_only=True):
    merchant_id: MerchantId
    cost_centre: CostCentreOrAny
    product: str = ""  # '' = any product of the cost centre
    valid_from: date
    valid_to: date | None = None
    dimensions: AccountingDimensions


class SetAccountingRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.set_accounting`: admin (or finance) adds dimensions valid from a date."""

    entry: AccountingEntry
    idempotency_key: str | None = None


class ListAccountingRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.list_accounting`: admin / finance."""

    merchant_id: MerchantId | None = None


class AccountingList(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[AccountingEntry]


class AccountingForRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`cart.v1.accounting_for` (internal, our services only): the dimensions a line of
    `merchant_id` / `cost_centre` is booked to on `on`, as checkout would choose them (payment
    asks it for the lines of a season's monthly invoice, issue 19)."""

    merchant_id: MerchantId
    cost_centre: str = ""
    on: date


class VatRate(msgspec.Struct, frozen=True, kw_only=True):
    code: VatRateCode  # general | reduced_13_5 | reduced_10 | zero
    rate_bp: int
    valid_from: date
    valid_to: date | None = None
    description: str = ""


class SetVatRateRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.set_vat_rate`: admin."""

    rate: VatRate
    idempotency_key: str | None = None


class ListVatRatesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.list_vat_rates`: anyone."""


class VatRateList(msgspec.Struct, frozen=True, kw_only=True):
    rates: list[VatRate]


# GIS shop -------------------------------------------------------------------------------


class GisLicence(msgspec.Struct, frozen=True, kw_only=True):
    type: str  # e.g. "CC BY 4.0", "internal use"
    period_months: int | None = None  # None: perpetual
    price_factor_pct: int = 100


class AreaTierSpec(msgspec.Struct, frozen=True, kw_only=True):
    up_to_hectares: float | None = None
    cents_per_hectare: int


class GisPricing(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["fixed", "area"]
    unit_cents: int = 0  # fixed: per sheet / file
    unit: str = "file"  # sheet | file
    base_fee_cents: int = 0  # area
    tiers: list[AreaTierSpec] = msgspec.field(default_factory=list)
    minimum_hectares: float = 0.0


FileId = Annotated[
    str,
    msgspec.Meta(
        description="a file id issued by the GIS file store (`POST /api/v1/gis/files`); "
        "32 lower-case hex digits, never a path"
    ),
]


class GisCatalogueEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A product as the public catalogue shows it: no file reference of any kind."""

    id: str
    name_fi: str
    name_sv: str | None = None
    name_en: str | None = None
    description: str = ""
    formats: list[str]
    coordinate_systems: list[str] = msgspec.field(default_factory=lambda: ["ETRS-GK23"])
    licences: list[GisLicence]
    pricing: GisPricing
    vat_code: VatRateCode = "general"
    cost_centre: CostCentre
    active: bool = True


class GisProduct(GisCatalogueEntry, frozen=True, kw_only=True):
    """A product as a GIS clerk writes it: `ready_file` is the id of a file uploaded through
    `cart.v1.gis_upload_file` (delivered at once after payment); None: made to order."""

    ready_file: FileId | None = None


class GisFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file the GIS file store took (staff only): its id, name and size."""

    file_id: FileId
    file_name: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


class GisProductRecord(GisProduct, frozen=True, kw_only=True):
    """A product as GIS clerks see it: the ready file's name and size beside its id."""

    file: GisFile | None = None


class ListGisProductsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.list_gis_products`: the active catalogue (anyone); gis_clerk sees all."""

    include_inactive: bool = False
    limit: Limit = 200
    offset: Offset = 0


class GisProductList(msgspec.Struct, frozen=True, kw_only=True):
    products: list[GisCatalogueEntry]
    next_offset: int | None = None


class GisProductRecordsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.gis_product_records`: gis_clerk: every product with its ready file."""

    limit: Limit = 200
    offset: Offset = 0


class GisProductRecordList(msgspec.Struct, frozen=True, kw_only=True):
    products: list[GisProductRecord]
    next_offset: int | None = None


class UpsertGisProductRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.upsert_gis_product`: gis_clerk (or admin)."""

    product: GisProduct
    idempotency_key: str | None = None


Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="hex SHA-256")]


class GisFileUploadRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.gis_upload_file`: gis_clerk registers a product's ready file, which the
    gateway has streamed into the GIS file store (object `file_id`, `size_bytes`, `sha256`),
    and gets the file id to name as the product's `ready_file`. No content in the message."""

    file_name: str
    file_id: FileId
    size_bytes: int
    sha256: Sha256
    idempotency_key: str | None = None


class GisQueueRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.gis_queue`: gis_clerk: paid made-to-order lines waiting for a file, oldest
    payment first."""

    limit: Limit = 100
    offset: Offset = 0


class GisQueueItem(msgspec.Struct, frozen=True, kw_only=True):
    order_id: uuid.UUID
    order_number: str
    line_id: uuid.UUID
    description: str
    details: dict[str, object]
    paid_at: datetime | None


class GisQueue(msgspec.Struct, frozen=True, kw_only=True):
    items: list[GisQueueItem]
    next_offset: int | None = None


class GisUploadRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.gis_upload`: gis_clerk delivers the file of a queued line, streamed by the
    gateway into the GIS file store (`file_id`, `size_bytes`, `sha256` as in
    `GisFileUploadRequest`); this releases the download link."""

    line_id: uuid.UUID
    file_name: str
    file_id: FileId
    size_bytes: int
    sha256: Sha256
    idempotency_key: str | None = None


class DownloadRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.download`: validate a download token (the link itself is the credential);
    the gateway streams the file. Forged -> forbidden; expired or used up -> gone."""

    token: str


class DownloadGrant(msgspec.Struct, frozen=True, kw_only=True):
    """The gateway streams file `file_id` from the GIS file store (the reply names the file,
    it never carries it)."""

    file_id: FileId
    file_name: str
    size_bytes: int
    content_type: str
    downloads_left: int


# Library ---------------------------------------------------------------------------------


class LinkLibraryCardRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.link_library_card`: the library system checks card number + PIN."""

    card_number: str
    pin: str
    idempotency_key: str | None = None


class LibraryCard(msgspec.Struct, frozen=True, kw_only=True):
    card_last4: str
    linked_at: datetime


class LibraryDebitsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.library_debits`: the resident's outstanding library debits (linked card)."""


LibraryDebitState = Literal["payable", "not_payable", "awaiting_payment", "paid"]


class LibraryDebit(msgspec.Struct, frozen=True, kw_only=True):
    """One outstanding debit as the library lists it, and whether it can go in a cart now:
    `payable`; `not_payable` (`reason` says why); `awaiting_payment` (in an order not yet
    paid: `order_id`/`order_number` lead to it when it is the resident's own); `paid` (paid
    online, being recorded in the library)."""

    account_line_id: int
    debit_type: str
    description: str
    amount_outstanding_cents: int
    payable: bool
    reason: str = ""
    state: LibraryDebitState = "payable"
    order_id: uuid.UUID | None = None
    order_number: str | None = None


class LibraryDebits(msgspec.Struct, frozen=True, kw_only=True):
    debits: list[LibraryDebit]
    payable_total_cents: int
    minimum_payable_cents: int


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    line_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    patron_id: str
    account_line_ids: list[int]
    amount_cents: int
    state: str
    attempts: int
    last_error: str | None
    failed_at: datetime | None
    updated_at: datetime


class ListRegistrationsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.library_registrations`: library_clerk; default the failed ones; `expired`
    gives the report of failures nobody handled in time; `cancelled` the ones stopped because
    their line was refunded before it was recorded."""

    state: Literal[
        "pending", "recorded", "registration_failed", "resolved_by_hand", "expired", "cancelled"
    ] = "registration_failed"
    limit: Limit = 100
    offset: Offset = 0


class RegistrationList(msgspec.Struct, frozen=True, kw_only=True):
    registrations: list[Registration]
    next_offset: int | None = None


class RegistrationActionRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.retry_registration` / `cart.v1.resolve_registration`: library_clerk."""

    line_id: uuid.UUID
    note: str = ""
    idempotency_key: str | None = None


class RegistrationLogRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.registration_log`: library_clerk: every step of one line's registration."""

    line_id: uuid.UUID


class RegistrationLogEntry(msgspec.Struct, frozen=True, kw_only=True):
    step: str
    detail: str
    actor: str
    at: datetime


class RegistrationLog(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[RegistrationLogEntry]
