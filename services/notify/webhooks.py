"""Webhooks to integrators: the use cases staff call (subscriptions, the delivery log, replay)
and the event consumer that writes one delivery per subscription and event.

Staff manage their departments' subscriptions, admins any; a subscription (or delivery) of a
department the caller does not act for is `not_found`, revealing nothing. The consumer only
records deliveries in the event's inbox transaction: the delivery loop (webhook_sender.py)
sends them afterwards, so no service ever waits for a receiver."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar, cast

import asyncpg
import msgspec

from services.notify import webhook_store as store
from services.notify.domain.webhooks import (
    DELIVERIES,
    WEBHOOK_EVENTS,
    check_url,
    new_secret,
    payload,
    routing,
)
from shared import idempotency
from shared.access import acts_for_department, signed_in
from shared.contracts import webhooks as c
from shared.contracts.common import Event, Principal, RequestContext
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import Consumer
from shared.retention import Retention

R = TypeVar("R")

# Delivered and failed deliveries are purged by their last round of tries
# (`RETENTION_WEBHOOK_DELIVERIES_DAYS`, 30): the log, and the events' payloads, go then.
WEBHOOK_DELIVERIES = Retention(
    "webhook_deliveries", "webhook_deliveries", "retry_from", 30.0, where="state <> 'pending'"
)


def subscription_view(r: asyncpg.Record) -> c.WebhookView:
    return c.WebhookView(
        subscription_id=r["id"], merchant_id=r["merchant_id"], url=r["url"],
        event_types=list(r["event_types"]), active=r["active"], created_at=r["created_at"],
        deactivated_at=r["deactivated_at"],
    )  # fmt: skip


def delivery_view(r: asyncpg.Record) -> c.WebhookDeliveryView:
    return c.WebhookDeliveryView(
        delivery_id=r["id"], subscription_id=r["subscription_id"], event_id=r["event_id"],
        event_type=r["subject"], ordering_key=r["ordering_key"], state=r["state"],
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"] if r["state"] == "pending" else None,
        last_status=r["last_status"], last_error=r["last_error"], created_at=r["created_at"],
        delivered_at=r["delivered_at"], replays=r["replays"],
    )  # fmt: skip


async def replayed(
    conn: asyncpg.Connection, op: str, principal: Principal, req: Any, reply: type[R]
) -> R | None:
    cached = await idempotency.lookup(conn, f"notify.{op}", principal, req.idempotency_key, req)
    return None if cached is None else msgspec.json.decode(cached, type=reply)


async def remember(
    conn: asyncpg.Connection, op: str, principal: Principal, req: Any, reply: Any
) -> None:
    await idempotency.remember(conn, f"notify.{op}", principal, req.idempotency_key, req, reply)


class Webhooks:
    def __init__(self, pool: asyncpg.Pool, *, allow_insecure: bool = False) -> None:
        self.pool = pool
        self.allow_insecure = allow_insecure  # plain http and local addresses (development)

    async def create_webhook(
        self, req: c.CreateWebhookRequest, ctx: RequestContext
    ) -> c.WebhookCreated:
        principal = signed_in(ctx.principal)
        if not acts_for_department(principal, req.merchant_id):
            raise Forbidden("only staff of this department may subscribe for it")
        url = check_url(req.url, allow_insecure=self.allow_insecure)
        event_types = sorted(set(req.event_types))
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await replayed(conn, "create_webhook", principal, req, c.WebhookCreated)
            if cached is not None:
                return cached
            secret = new_secret()
            row = await store.add_subscription(
                conn, uuid.uuid4(), req.merchant_id, url, secret, event_types
            )
            reply = c.WebhookCreated(subscription=subscription_view(row), secret=secret)
            await remember(conn, "create_webhook", principal, req, reply)
        return reply

    async def list_webhooks(self, req: c.ListWebhooksRequest, ctx: RequestContext) -> c.WebhookList:
        principal = signed_in(ctx.principal)
        merchants: list[str] | None
        if req.merchant_id is not None:
            if not acts_for_department(principal, req.merchant_id):
                raise Forbidden("only staff of this department may see its subscriptions")
            merchants = [req.merchant_id]
        elif principal.is_admin or principal.is_system:
            merchants = None
        elif principal.has("staff") and principal.departments:
            merchants = list(principal.departments)
        else:
            raise Forbidden("only staff may see webhook subscriptions")
        async with self.pool.acquire() as conn:
            rows = await store.subscriptions(conn, merchants, req.include_inactive)
        return c.WebhookList(subscriptions=[subscription_view(r) for r in rows])

    async def _subscription(
        self, conn: asyncpg.Connection, principal: Principal, subscription_id: uuid.UUID,
        *, lock: bool = False,
    ) -> asyncpg.Record:  # fmt: skip
        """The subscription, or `not_found` also when the caller does not act for its
        department (nothing about another department's subscriptions is revealed)."""
        row = await store.subscription(conn, subscription_id, lock=lock)
        if row is None or not acts_for_department(principal, row["merchant_id"]):
            raise NotFound("no such webhook subscription", field="subscription_id")
        return row

    async def deactivate_webhook(
        self, req: c.DeactivateWebhookRequest, ctx: RequestContext
    ) -> c.WebhookView:
        principal = signed_in(ctx.principal)
        async with self.pool.acquire() as conn, conn.transaction():
            await self._subscription(conn, principal, req.subscription_id, lock=True)
            cached = await replayed(conn, "deactivate_webhook", principal, req, c.WebhookView)
            if cached is not None:
                return cached
            await store.deactivate(conn, req.subscription_id)
            row = await store.subscription(conn, req.subscription_id)
            assert row is not None
            reply = subscription_view(row)
            await remember(conn, "deactivate_webhook", principal, req, reply)
        return reply

    async def webhook_deliveries(
        self, req: c.WebhookDeliveriesRequest, ctx: RequestContext
    ) -> c.WebhookDeliveryList:
        principal = signed_in(ctx.principal)
        async with self.pool.acquire() as conn:
            await self._subscription(conn, principal, req.subscription_id)
            rows = await store.deliveries(
                conn, req.subscription_id, req.state, req.limit, req.offset
            )
        return c.WebhookDeliveryList(deliveries=[delivery_view(r) for r in rows])

    async def replay_webhook_delivery(
        self, req: c.ReplayWebhookDeliveryRequest, ctx: RequestContext
    ) -> c.WebhookDeliveryView:
        principal = signed_in(ctx.principal)
        async with self.pool.acquire() as conn, conn.transaction():
            found = await store.delivery(conn, req.delivery_id, lock=True)
            if found is None:
                raise NotFound("no such webhook delivery", field="delivery_id")
            try:
                subscription = await self._subscription(conn, principal, found["subscription_id"])
            except NotFound:
                raise NotFound("no such webhook delivery", field="delivery_id") from None
            cached = await replayed(
                conn, "replay_webhook_delivery", principal, req, c.WebhookDeliveryView
            )
            if cached is not None:
                return cached
            if not subscription["active"]:
                raise Conflict("the subscription is deactivated", field="delivery_id")
            DELIVERIES.step(cast("str", found["state"]), "replayed")
            reply = delivery_view(await store.replay(conn, req.delivery_id))
            await remember(conn, "replay_webhook_delivery", principal, req, reply)
        return reply


async def on_event(conn: asyncpg.Connection, event: Event) -> None:
    """One delivery per active subscription of the event's department to its subject, in the
    event's inbox transaction."""
    found = routing(event)
    if found is None or not found.merchant_id:
        return
    await store.add_deliveries(
        conn,
        merchant_id=found.merchant_id,
        subject=type(event).subject,
        event_id=event.event_id,
        ordering_key=found.ordering_key,
        payload=payload(event),
    )


def webhook_consumer() -> Consumer:
    # From the consumer's creation on, like the residents' e-mails: a subscription receives
    # the events that happen after it was made.
    return Consumer("notify-webhooks", sorted(WEBHOOK_EVENTS), on_event, deliver_new_only=True)
