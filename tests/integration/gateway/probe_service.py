"""A small real service (`probe.v1.*`) the gateway tests call through HTTP routes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec

from services.gateway.routes.operation import OperationRoute
from services.gateway.routes.who import Who
from shared.contracts.common import RequestContext
from shared.errors import NotFound, ServiceError, SlotUnavailable, ValidationFailed
from shared.messaging import Operation
from shared.runtime import Infra, ServiceDefinition


class ProbeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`probe.v1.probe`: echo what arrived."""

    thing_id: uuid.UUID
    text: str
    count: int = 1
    idempotency_key: str | None = None


class ProbeQuery(msgspec.Struct, frozen=True, kw_only=True):
    """`probe.v1.look`: a read with query parameters."""

    thing_id: uuid.UUID
    limit: int = 10
    text: str = "look"


class ProbeReply(msgspec.Struct, frozen=True, kw_only=True):
    thing_id: uuid.UUID
    text: str
    count: int
    idempotency_key: str | None
    principal: str | None
    request_id: str
    traceparent: str | None


class NeverMatches(ServiceError):
    """An error code only this service knows (the gateway has never heard of it)."""

    code = "rule_never_matches"
    status = 422


async def probe(req: ProbeRequest, ctx: RequestContext) -> ProbeReply:
    if req.text == "missing":
        raise NotFound("no such thing")
    if req.text == "taken":
        raise SlotUnavailable("the slot is taken", field="starts_at")
    if req.text == "invalid":
        raise ValidationFailed("text is not allowed", field="text")
    if req.text == "novel":
        raise NeverMatches("this rule never matches a date", field="text")
    if req.text == "crash":
        raise RuntimeError("secret-internal-detail")
    if req.text == "slow":
        await asyncio.sleep(6)  # past the gateway tests' request timeout (conftest)
    return ProbeReply(
        thing_id=req.thing_id,
        text=req.text,
        count=req.count,
        idempotency_key=req.idempotency_key,
        principal=ctx.principal.subject if ctx.principal else None,
        request_id=ctx.request_id,
        traceparent=ctx.traceparent,
    )


async def look(req: ProbeQuery, ctx: RequestContext) -> ProbeReply:
    return ProbeReply(
        thing_id=req.thing_id,
        text=req.text,
        count=req.limit,
        idempotency_key=None,
        principal=ctx.principal.subject if ctx.principal else None,
        request_id=ctx.request_id,
        traceparent=ctx.traceparent,
    )


def build(infra: Infra) -> ServiceDefinition:
    return ServiceDefinition(
        name="probe",
        version="1.0.0",
        operations=[Operation("probe", ProbeRequest, probe), Operation("look", ProbeQuery, look)],
    )


ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "POST",
        "/api/v1/probe/{thing_id:uuid}",
        "probe.v1.probe",
        ProbeRequest,
        ProbeReply,
        Who(roles=("resident", "admin"), scopes=("probe:write",)),
        "Probe",
    ),
    OperationRoute(
        "GET",
        "/api/v1/probe/{thing_id:uuid}",
        "probe.v1.look",
        ProbeQuery,
        ProbeReply,
        Who(public=True),
        "Look",
    ),
    OperationRoute(
        "POST",
        "/api/v1/nobody/{thing_id:uuid}",
        "nobody.v1.probe",
        ProbeRequest,
        ProbeReply,
        Who(public=True),
        "Nobody answers",
    ),
]
