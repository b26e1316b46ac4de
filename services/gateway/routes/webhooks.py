"""`/api/v1` routes of the webhooks to integrators (the notification service): a department's
staff (admins: any department's) subscribe its systems to event subjects, list and deactivate
the subscriptions, read each one's delivery log and replay a delivery."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.types import ControllerRouterHandler

from services.gateway.routes.operation import OperationRoute
from services.gateway.routes.who import STAFF
from shared.contracts import webhooks as c

ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "POST",
        "/webhooks/subscriptions",
        "notify.v1.create_webhook",
        c.CreateWebhookRequest,
        c.WebhookCreated,
        STAFF,
        "Subscribe a department's system to events (the signing secret is shown once)",
    ),
    OperationRoute(
        "GET",
        "/webhooks/subscriptions",
        "notify.v1.list_webhooks",
        c.ListWebhooksRequest,
        c.WebhookList,
        STAFF,
        "A department's webhook subscriptions",
    ),
    OperationRoute(
        "POST",
        "/webhooks/subscriptions/{subscription_id}/deactivate",
        "notify.v1.deactivate_webhook",
        c.DeactivateWebhookRequest,
        c.WebhookView,
        STAFF,
        "Stop a webhook subscription (its pending deliveries are given up)",
        status_code=200,
    ),
    OperationRoute(
        "GET",
        "/webhooks/subscriptions/{subscription_id}/deliveries",
        "notify.v1.webhook_deliveries",
        c.WebhookDeliveriesRequest,
        c.WebhookDeliveryList,
        STAFF,
        "A webhook subscription's delivery log, newest first",
    ),
    OperationRoute(
        "POST",
        "/webhooks/deliveries/{delivery_id}/replay",
        "notify.v1.replay_webhook_delivery",
        c.ReplayWebhookDeliveryRequest,
        c.WebhookDeliveryView,
        STAFF,
        "Send a webhook delivery again",
        status_code=200,
    ),
]


def routes() -> list[ControllerRouterHandler]:
    return [Router("/api/v1", route_handlers=[r.handler() for r in ROUTES], tags=["webhooks"])]
