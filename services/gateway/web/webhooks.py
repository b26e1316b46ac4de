"""The staff pages of the webhooks to integrators (issue 18): a department's clerk lists its
subscriptions, subscribes a system (URL and event types; the signing secret is shown once, on
the page that answers the form, as the API does), reads a subscription's delivery log (state,
attempts, the receiver's last answer) and replays a delivery, and stops a subscription; the
replay and the stop each ask for confirmation first.

Each is a `notify.v1.*` webhook operation (services/notify/webhook_handlers.py), which checks
the department of every subscription (another department's is not found). A refused form comes
back to the form (web/forms.py), naming the field, with the input kept.
"""

from __future__ import annotations

import uuid
from typing import Any, get_args

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.gateway.auth import allow, principal_of
from services.gateway.web.forms import read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page
from services.gateway.web.resident import _back
from shared.contracts import cart as ct
from shared.contracts import webhooks as wh
from shared.errors import Conflict, NotFound, ValidationFailed

Req = Request[Any, Any, Any]
STAFF = allow("staff", "admin")  # as the API's webhook routes (the service checks departments)
EVENT_TYPES: tuple[str, ...] = get_args(wh.WebhookEventType)
STATES: tuple[str, ...] = get_args(wh.DeliveryState)
LOG_SIZE = 100


def _id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("no such webhook subscription or delivery", field=field) from None


async def departments(request: Req) -> list[str]:
    """The departments the visitor may subscribe for: their own (an admin: every one)."""
    principal = principal_of(request)
    own = list(principal.departments) if principal is not None else []
    if own and not (principal is not None and principal.has("admin")):
        return own
    merchants = await fetch(request, "list_merchants", ct.MerchantList)
    return [m.id for m in merchants.merchants]


async def subscription(request: Req, subscription_id: uuid.UUID) -> wh.WebhookView:
    """One of the visitor's departments' subscriptions (NotFound for any other)."""
    found = await fetch(request, "list_webhooks", wh.WebhookList, include_inactive=True)
    for s in found.subscriptions:
        if s.subscription_id == subscription_id:
            return s
    raise NotFound("no such webhook subscription", field="subscription_id")


@get("/staff/webhooks", name="web:webhooks", guards=STAFF)
async def webhooks_page(request: Req, inactive: FromQuery[str] = "") -> Response[str]:
    found = await fetch(request, "list_webhooks", wh.WebhookList, include_inactive=bool(inactive))
    return page(
        request,
        "staff/webhooks.html",
        subscriptions=found.subscriptions,
        inactive=bool(inactive),
        merchants=await departments(request),
        event_types=EVENT_TYPES,
        key=new_key(),
    )


@post("/staff/webhooks", name="web:webhook_create", guards=STAFF)
async def create_webhook(request: Req) -> Response[str]:
    form = await read_form(request)
    chosen = [str(v) for v in form.getall("event_types", [])]
    if not chosen:
        raise ValidationFailed("at least one event type", field="event_types")
    if any(v not in EVENT_TYPES for v in chosen):
        raise ValidationFailed("one of the listed event types", field="event_types")
    created = await fetch(
        request,
        "create_webhook",
        wh.WebhookCreated,
        merchant_id=str(form.get("merchant_id") or "").strip(),
        url=str(form.get("url") or "").strip(),
        event_types=chosen,
        idempotency_key=str(form.get("key") or new_key()),
    )
    response = page(request, "staff/webhook_created.html", created=created)
    response.headers["Cache-Control"] = "no-store"  # the secret is shown this once
    return response


@get("/staff/webhooks/{subscription_id:str}", name="web:webhook_log", guards=STAFF)
async def delivery_log(
    request: Req, subscription_id: FromPath[str], show: FromQuery[str] = ""
) -> Response[str]:
    sid = _id(subscription_id, "subscription_id")
    if show and show not in STATES:
        raise ValidationFailed("pending, delivered or failed", field="show")
    found = await fetch(
        request,
        "webhook_deliveries",
        wh.WebhookDeliveryList,
        subscription_id=sid,
        state=show or None,
        limit=LOG_SIZE,
    )
    return page(
        request,
        "staff/webhook_log.html",
        subscription=await subscription(request, sid),
        deliveries=found.deliveries,
        show=show,
        states=STATES,
    )


async def _delivery(request: Req, sid: uuid.UUID, delivery_id: str) -> wh.WebhookDeliveryView:
    did = _id(delivery_id, "delivery_id")
    found = await fetch(
        request, "webhook_deliveries", wh.WebhookDeliveryList, subscription_id=sid, limit=500
    )
    for d in found.deliveries:
        if d.delivery_id == did:
            return d
    raise NotFound("no such webhook delivery", field="delivery_id")


REPLAY = "/staff/webhooks/{subscription_id:str}/deliveries/{delivery_id:str}/replay"


@get(REPLAY, name="web:webhook_replay_confirm", guards=STAFF)
async def confirm_replay(
    request: Req, subscription_id: FromPath[str], delivery_id: FromPath[str]
) -> Response[str]:
    sid = _id(subscription_id, "subscription_id")
    delivery = await _delivery(request, sid, delivery_id)
    return page(
        request,
        "staff/webhook_replay.html",
        subscription=await subscription(request, sid),
        delivery=delivery,
        key=new_key(),
    )


@post(REPLAY, name="web:webhook_replay", guards=STAFF)
async def replay(
    request: Req, subscription_id: FromPath[str], delivery_id: FromPath[str]
) -> Redirect:
    sid = _id(subscription_id, "subscription_id")
    form = await read_form(request)
    try:
        await fetch(
            request,
            "replay_webhook_delivery",
            wh.WebhookDeliveryView,
            delivery_id=_id(delivery_id, "delivery_id"),
            idempotency_key=str(form.get("key") or new_key()),
        )
    except Conflict as refused:  # still pending: said of the delivery, on the confirmation
        refused.details.setdefault("field", "delivery_id")
        raise
    return _back(f"/staff/webhooks/{sid}", "done_webhook_replayed")


STOP = "/staff/webhooks/{subscription_id:str}/stop"


@get(STOP, name="web:webhook_stop_confirm", guards=STAFF)
async def confirm_stop(request: Req, subscription_id: FromPath[str]) -> Response[str]:
    found = await subscription(request, _id(subscription_id, "subscription_id"))
    return page(request, "staff/webhook_stop.html", subscription=found, key=new_key())


@post(STOP, name="web:webhook_stop", guards=STAFF)
async def stop(request: Req, subscription_id: FromPath[str]) -> Redirect:
    form = await read_form(request)
    await fetch(
        request,
        "deactivate_webhook",
        wh.WebhookView,
        subscription_id=_id(subscription_id, "subscription_id"),
        idempotency_key=str(form.get("key") or new_key()),
    )
    return _back("/staff/webhooks", "done_webhook_stopped")


ROUTES = [
    webhooks_page,
    create_webhook,
    delivery_log,
    confirm_replay,
    replay,
    confirm_stop,
    stop,
]
