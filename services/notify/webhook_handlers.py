"""NATS operations `notify.v1.*` of the webhooks to integrators: their own table (beside
handlers.py's), bound to the use cases at start-up (shared/operations.py)."""

from __future__ import annotations

from typing import Any

from services.notify.webhooks import Webhooks
from shared.contracts import webhooks as c
from shared.messaging import Operation
from shared.operations import ServiceContract

WEBHOOK_CONTRACT = ServiceContract(
    "notify",
    {
        "create_webhook": (c.CreateWebhookRequest, c.WebhookCreated),
        "list_webhooks": (c.ListWebhooksRequest, c.WebhookList),
        "deactivate_webhook": (c.DeactivateWebhookRequest, c.WebhookView),
        "webhook_deliveries": (c.WebhookDeliveriesRequest, c.WebhookDeliveryList),
        "replay_webhook_delivery": (c.ReplayWebhookDeliveryRequest, c.WebhookDeliveryView),
    },
)

READS = frozenset({"list_webhooks", "webhook_deliveries"})


def webhook_operations(webhooks: Webhooks) -> list[Operation[Any]]:
    return WEBHOOK_CONTRACT.bind(
        {
            "create_webhook": webhooks.create_webhook,
            "list_webhooks": webhooks.list_webhooks,
            "deactivate_webhook": webhooks.deactivate_webhook,
            "webhook_deliveries": webhooks.webhook_deliveries,
            "replay_webhook_delivery": webhooks.replay_webhook_delivery,
        },
        reads=READS,
    )
