"""Every HTTP route declares the request and reply types its service really takes and sends.

Each service's handlers export their table, operation -> (request type, reply type)
(`CONTRACT`, bound to the handlers at start-up only when each handler's annotations agree:
tests/unit/shared/test_operations.py); every route of the gateway names its typed client
(`opt["call"]`). A route declaring `OrderView` where its service replies `OrderLineView` (the
old 500 on the GIS upload) fails here, not in production.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute

from services.audit.handlers import CONTRACT as AUDIT
from services.booking.handlers import CONTRACT as BOOKING
from services.cart.handlers import CONTRACT as CART
from services.gateway.app import create_app
from services.gateway.clients import Call
from services.gateway.routes import gis_files
from services.gateway.settings import GatewaySettings
from services.insights.handlers import CONTRACT as INSIGHTS
from services.notify.handlers import CONTRACT as NOTIFY
from services.notify.reminder_handlers import CONTRACT as NOTIFY_REMINDERS
from services.notify.webhook_handlers import WEBHOOK_CONTRACT as NOTIFY_WEBHOOKS
from services.payment.handlers import CONTRACT as PAYMENT
from shared.contracts import cart as cart_contracts
from shared.settings import CommonSettings

CONTRACTS = {
    **BOOKING.by_subject(),
    **CART.by_subject(),
    **PAYMENT.by_subject(),
    **INSIGHTS.by_subject(),
    **AUDIT.by_subject(),
    **NOTIFY.by_subject(),
    **NOTIFY_WEBHOOKS.by_subject(),
    **NOTIFY_REMINDERS.by_subject(),
}

# Operations only services call (with their own system principal or on a resident's behalf
# inside a use case), or aliases of routed ones: never routed.
INTERNAL = {
    "booking.v1.extend_holds",  # cart, at checkout
    "booking.v1.shorten_holds",  # cart, when the order could not be written after extending
    "booking.v1.reservation_for_cart",  # cart, when a reservation is added
    "cart.v1.order_for_payment",  # payment, when a payment starts
    "booking.v1.desk_search",  # cart, which combines it with its own (cart.v1.desk_search)
    "cart.v1.desk_customer",  # notify, the address of a desk customer's receipt mail
    "cart.v1.refundable",  # booking, what a cancellation may promise back
    "booking.v1.upsert_resource",  # routed as create_resource / update_resource
    "notify.v1.seed_contact",  # the gateway itself, at sign-in (contacts.py)
    # seasonal fixed slots: payment asks booking and cart when it invoices a season's month
    "booking.v1.season_month",
    "booking.v1.approved_seasons",
    "cart.v1.accounting_for",
    # residents' data rights: the audit service asks each service (audit.v1.* are routed)
    *(
        f"{service}.v1.{operation}"
        for service in ("booking", "cart", "payment", "notify")
        for operation in ("personal_data", "erase_personal_data", "stale_customers")
    ),
}


def declared_calls(app: Litestar) -> list[tuple[str, Call[Any, Any]]]:
    """(method and path, typed client) of every route that calls a service."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "subject" in handler.opt:
                call = handler.opt.get("call")
                assert isinstance(call, Call), f"{route.path} calls a service untyped"
                assert call.subject == handler.opt["subject"], route.path
                found.append((f"{sorted(handler.http_methods)} {route.path}", call))
    return found


def mismatches(
    calls: list[tuple[str, Call[Any, Any]]], contracts: dict[str, tuple[type, type]]
) -> list[str]:
    problems = []
    for where, call in calls:
        answered = contracts.get(call.subject)
        if answered is None:
            problems.append(f"{where}: no service has the operation {call.subject}")
        elif answered != (call.request, call.reply):
            problems.append(
                f"{where}: declares {call.request.__name__} -> {call.reply.__name__}, "
                f"{call.subject} takes {answered[0].__name__} -> {answered[1].__name__}"
            )
    return problems


def app() -> Litestar:
    return create_app(CommonSettings(env="test"), GatewaySettings())


def test_every_route_declares_the_types_its_service_takes_and_sends() -> None:
    calls = declared_calls(app())
    assert len(calls) > 75
    assert mismatches(calls, CONTRACTS) == []


def test_a_route_declaring_another_reply_than_its_service_sends_is_caught() -> None:
    """The OrderView / OrderLineView mix-up, planted on the real GIS upload route."""
    upload = gis_files.deliver_file.opt["call"]
    assert upload.subject == "cart.v1.gis_upload"
    planted = replace(upload, reply=cart_contracts.OrderView)
    found = mismatches([("POST gis upload", planted)], CONTRACTS)
    assert found == [
        "POST gis upload: declares GisUploadRequest -> OrderView, "
        "cart.v1.gis_upload takes GisUploadRequest -> OrderLineView"
    ]
    unknown = Call("cart.v1.gis_uplaod", cart_contracts.GisUploadRequest, cart_contracts.Receipt)
    assert mismatches([("typo", unknown)], CONTRACTS) == [
        "typo: no service has the operation cart.v1.gis_uplaod"
    ]


def test_every_operation_of_every_service_has_a_route_but_the_internal_ones() -> None:
    routed = {call.subject for _, call in declared_calls(app())}
    missing = sorted(set(CONTRACTS) - INTERNAL - routed)
    assert not missing, f"operations without a route: {missing}"
    assert not INTERNAL & routed, "an internal operation is reachable over HTTP"
    assert set(CONTRACTS) >= INTERNAL, "the internal list names an operation nobody has"
