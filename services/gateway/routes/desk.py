"""`/api/v1/desk/...`: the service desk (issue 19). Staff find a customer (cart combines its
own data with booking's), make a customer record for a phone booker, hold for a customer, put
the reservation into their cart, check it out, take the payment at the desk (receipt), invoice
an organisation's order or make a payment link; `/api/v1/payment-links/{token}`: the
customer's side of a link (no sign-in)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router
from litestar.types import ControllerRouterHandler

from services.gateway.routes.operation import OperationRoute
from services.gateway.routes.payment import absolute_redirect
from services.gateway.routes.replies import absolute_url
from services.gateway.routes.who import ANYONE, Who
from shared.contracts import booking as b
from shared.contracts import cart as c
from shared.contracts import desk as d
from shared.contracts import invoicing as i
from shared.contracts import payment as p

# Who works at the desk: staff and the departments' clerks (each service checks the
# department of what they act on), admins.
DESK = Who(roles=("staff", "library_clerk", "gis_clerk", "admin"))
RECEIPT_READERS = Who(roles=("staff", "library_clerk", "gis_clerk", "finance", "admin"))


def absolute_link(reply: d.PaymentLink, request: Request[Any, Any, Any]) -> d.PaymentLink:
    return msgspec.structs.replace(reply, url=absolute_url(request, reply.url) or reply.url)


ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "GET",
        "/desk/customers",
        "cart.v1.desk_search",
        d.DeskSearchRequest,
        d.DeskSearchReply,
        DESK,
        "Find a customer (name, e-mail, phone, order or reference number, reservation id)",
    ),
    OperationRoute(
        "POST",
        "/desk/customers",
        "cart.v1.desk_customer_create",
        d.DeskCustomerCreate,
        d.DeskCustomer,
        DESK,
        "A customer without an online account (a phone booker)",
    ),
    OperationRoute(
        "POST",
        "/desk/holds",
        "booking.v1.desk_hold",
        d.DeskHoldRequest,
        b.HoldReply,
        DESK,
        "Hold for a customer (the reservation is theirs, made by the clerk)",
    ),
    OperationRoute(
        "POST",
        "/desk/reservations/{reservation_id:uuid}/cancellation",
        "booking.v1.desk_cancel",
        d.DeskCancelRequest,
        b.CancelReply,
        DESK,
        "Cancel for the customer by their own cancellation policy (the refund follows)",
    ),
    OperationRoute(
        "POST",
        "/desk/cart-reservations",
        "cart.v1.desk_add_reservation",
        d.DeskAddReservationRequest,
        c.CartView,
        DESK,
        "Put a customer's held reservation into their cart",
        errors=(410,),
    ),
    OperationRoute(
        "POST",
        "/desk/orders",
        "cart.v1.desk_checkout",
        d.DeskCheckoutRequest,
        c.OrderView,
        DESK,
        "Check out a customer's cart (an order awaiting payment)",
        errors=(410,),
    ),
    OperationRoute(
        "POST",
        "/desk/orders/{order_id:uuid}/payments",
        "payment.v1.desk_pay",
        d.DeskPayRequest,
        p.PaymentView,
        DESK,
        "Paid at the desk (cash or the register's card terminal): paid at once",
        errors=(410,),
    ),
    OperationRoute(
        "POST",
        "/desk/orders/{order_id:uuid}/invoice",
        "payment.v1.desk_invoice",
        d.DeskInvoiceRequest,
        i.InvoiceView,
        DESK,
        "Invoiced to the organisation the order was booked for (reference number, due date); "
        "a private customer's order is refused naming organisation_id",
        errors=(410,),
    ),
    OperationRoute(
        "GET",
        "/desk/payments/{payment_id:uuid}/receipt",
        "payment.v1.desk_receipt",
        d.DeskReceiptRequest,
        d.DeskReceipt,
        RECEIPT_READERS,
        "The receipt of a payment taken at the desk",
    ),
    OperationRoute(
        "POST",
        "/desk/orders/{order_id:uuid}/payment-links",
        "payment.v1.create_payment_link",
        d.PaymentLinkCreate,
        d.PaymentLink,
        DESK,
        "A payment link for the customer (shown once; expires)",
        render=absolute_link,
        errors=(410,),
    ),
    OperationRoute(
        "GET",
        "/payment-links/{token:str}",
        "payment.v1.payment_link",
        d.PaymentLinkRef,
        d.PaymentLinkView,
        ANYONE,
        "What a payment link is for (the token is the credential)",
        errors=(410,),
    ),
    OperationRoute(
        "POST",
        "/payment-links/{token:str}/payments",
        "payment.v1.pay_by_link",
        d.PaymentLinkRef,
        p.PaymentView,
        ANYONE,
        "Pay a payment link's order online (returns where to send the browser)",
        render=absolute_redirect,
        errors=(410,),
    ),
    OperationRoute(
        "POST",
        "/payment-links/{token:str}/local-decision",
        "payment.v1.pay_by_link_local",
        d.PaymentLinkDecide,
        p.PaymentView,
        ANYONE,
        "The local test provider: pay, decline or abandon a link's payment (dev/test)",
        render=absolute_redirect,
        errors=(410,),
    ),
]


def routes() -> list[ControllerRouterHandler]:
    return [Router("/api/v1", route_handlers=[r.handler() for r in ROUTES], tags=["desk"])]
