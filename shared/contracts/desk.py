"""The service desk (issue 19): staff find a customer and act for them.

Each service answers for its own data: booking (`booking.v1.desk_search`: contacts kept with
reservations, a reservation id; `booking.v1.desk_hold`: a hold owned by the customer, made by
the clerk), cart (`cart.v1.desk_search` combines booking's answer with its own: desk customers,
order ids, order and reference numbers; `desk_customer_create`, `desk_add_reservation`,
`desk_checkout`) and payment (`payment.v1.desk_pay`, `desk_invoice`, `desk_receipt`,
`create_payment_link`, `payment_link`, `pay_by_link`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.contracts.booking import HoldItem, ReservationContact
from shared.contracts.payment import Decision

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[0-9+() -]*$")]
# A customer's subject: an online account's (`oidc:...`, `demo:...`) or a desk customer's.
Customer = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Query = Annotated[str, msgspec.Meta(min_length=2, max_length=200)]
RegisterId = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
DeskMethod = Literal["cash", "card"]
MatchKind = Literal["name", "email", "phone", "order", "reservation", "library_card"]


class DeskSearchRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Find customers by name, e-mail, phone, order id, order or reference number, or a
    reservation id (`q`, at least 2 characters; names match from their start); library
    clerks and admins also by a library card number a customer linked (`library_card`)."""

    q: Query
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20


class DeskCustomerHit(msgspec.Struct, frozen=True, kw_only=True):
    customer: str  # the subject to act for
    name: str = ""
    email: str = ""
    phone: str = ""
    matched: MatchKind
    source: Literal["booking", "cart"]
    desk_account: bool = False  # a customer without an online account (phone booker)
    order_id: uuid.UUID | None = None
    order_number: str | None = None
    reservation_id: uuid.UUID | None = None


class DeskSearchReply(msgspec.Struct, frozen=True, kw_only=True):
    customers: list[DeskCustomerHit]


class DeskCustomerCreate(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.desk_customer_create`: a customer without an online account; an e-mail or a
    phone number is required (to reach them)."""

    name: Name
    email: Email = ""
    phone: Phone = ""
    language: Literal["fi", "sv", "en"] = "fi"  # the customer's, for their mails and SMS
    idempotency_key: str | None = None


class DeskCustomer(msgspec.Struct, frozen=True, kw_only=True):
    customer: str  # `desk:<uuid>`
    name: str
    email: str
    phone: str
    created_by: str
    created_at: datetime
    language: Literal["fi", "sv", "en"] = "fi"  # of the mails and SMS they get


class DeskCustomerRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.desk_customer` (internal: notify, for a desk customer's receipt mail)."""

    customer: str  # `desk:<uuid>`


class DeskHoldRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.desk_hold`: hold for a customer (the reservation is theirs; the clerk is
    recorded as its maker). `home_municipality` prices the customer as a resident
    (Turku = 853) when the clerk has checked it; none: the price for others."""

    customer: Customer
    items: list[HoldItem]
    contact: ReservationContact | None = None
    home_municipality: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{3}$")] | None = None
    idempotency_key: str | None = None
    # Booked for this organisation (payment's; the clerk must see it: staff see every one):
    # priced by its customer group (no resident price) and invoiced to it.
    organisation_id: uuid.UUID | None = None


class DeskCancelRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.desk_cancel`: cancel for the customer, by the customer's own cancellation
    policy (the refund they would get themself; staff's full refund is `booking.v1.cancel`)."""

    reservation_id: uuid.UUID
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    idempotency_key: str | None = None


class DeskAddReservationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.desk_add_reservation`: put the customer's held reservation into their cart."""

    customer: Customer
    reservation_id: uuid.UUID
    idempotency_key: str | None = None


class DeskCheckoutRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.desk_checkout`: the customer's cart becomes an order awaiting payment."""

    customer: Customer
    idempotency_key: str | None = None


class DeskPayRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.desk_pay`: the order paid at the desk (cash or the card terminal of
    `register_id`): paid at once, the clerk and the register recorded."""

    order_id: uuid.UUID
    register_id: RegisterId
    method: DeskMethod = "card"
    idempotency_key: str | None = None


class DeskInvoiceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.desk_invoice`: the order invoiced to the organisation it was booked for
    (every line booked for `organisation_id`; a private customer's order is refused naming
    it): the invoice is its payment (provider `invoice`, paid at once as other invoices), the
    clerk recorded as its issuer and with the payment, and the register when given."""

    order_id: uuid.UUID
    organisation_id: uuid.UUID
    register_id: RegisterId | None = None
    idempotency_key: str | None = None


class DeskReceiptRequest(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: uuid.UUID


class DeskReceiptLine(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    quantity: int
    gross_cents: int
    vat_rate_bp: int
    vat_cents: int


class DeskReceipt(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    customer: str
    amount_cents: int
    vat_cents: int
    method: str
    register_id: str
    clerk: str
    paid_at: datetime
    lines: list[DeskReceiptLine]


class PaymentLinkCreate(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.create_payment_link`: a link the customer opens to pay the order online
    (no sign-in: the token in the address is the credential; it expires)."""

    order_id: uuid.UUID
    valid_hours: Annotated[int, msgspec.Meta(ge=1, le=168)] = 24
    idempotency_key: str | None = None


class PaymentLink(msgspec.Struct, frozen=True, kw_only=True):
    order_id: uuid.UUID
    url: str  # shown once: the token is stored hashed
    expires_at: datetime


Token = Annotated[str, msgspec.Meta(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


class PaymentLinkRef(msgspec.Struct, frozen=True, kw_only=True):
    token: Token


class PaymentLinkView(msgspec.Struct, frozen=True, kw_only=True):
    """What the link's page shows (no personal data)."""

    order_id: uuid.UUID
    order_number: str
    amount_cents: int
    state: Literal["payable", "paid", "closed"]
    expires_at: datetime
    payment_deadline: datetime


class PaymentLinkDecide(msgspec.Struct, frozen=True, kw_only=True):
    """`payment.v1.pay_by_link_local`: the local test provider's pay / decline / abandon for a
    payment begun from a link (development and tests; the link's token is the credential)."""

    token: Token
    payment_id: uuid.UUID
    decision: Decision
