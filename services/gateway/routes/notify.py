"""`/api/v1` routes of the notification service: the signed-in person's own contact details
(e-mail, phone, language, reminders), what was sent to a customer (staff of the departments
that sent it, admins) and a department's sender, reply-to and footer (its staff, admins)."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.types import ControllerRouterHandler

from services.gateway.routes.operation import OperationRoute
from services.gateway.routes.who import SIGNED_IN, STAFF
from shared.contracts import notify as c

ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "GET",
        "/me/contact",
        "notify.v1.get_contact",
        c.GetContactRequest,
        c.ContactView,
        SIGNED_IN,
        "My contact details: where and in which language I am told",
    ),
    OperationRoute(
        "PUT",
        "/me/contact",
        "notify.v1.set_contact",
        c.SetContactRequest,
        c.ContactView,
        SIGNED_IN,
        "Set my contact details: e-mail, phone (E.164), language, reminders on or off",
    ),
    OperationRoute(
        "GET",
        "/notify/messages",
        "notify.v1.customer_messages",
        c.CustomerMessagesRequest,
        c.MessageList,
        STAFF,
        "What was sent to a customer, newest first (staff: their departments' messages)",
    ),
    OperationRoute(
        "PUT",
        "/merchants/{merchant_id}/sender",
        "notify.v1.set_department",
        c.DepartmentSender,
        c.DepartmentSender,
        STAFF,
        "Set a department's e-mail sender, reply-to and footer per language",
    ),
    OperationRoute(
        "PUT",
        "/resources/{resource_id:uuid}/reminders",
        "notify.v1.set_reminder_hours",
        c.SetReminderHoursRequest,
        c.ReminderHours,
        STAFF,
        "How many hours before its reservations a resource's reminders go (0: none; "
        "null: the default)",
    ),
]


def routes() -> list[ControllerRouterHandler]:
    return [Router("/api/v1", route_handlers=[r.handler() for r in ROUTES], tags=["notify"])]
