"""Finance's use cases on payment anomalies: list them, and resolve one with a note."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
import msgspec

from services.payment import anomaly_store
from services.payment.access import require_finance
from shared import idempotency
from shared.contracts.common import RequestContext
from shared.contracts.payment import (
    AnomalyList,
    AnomalyView,
    ListAnomaliesRequest,
    ResolveAnomalyRequest,
)
from shared.errors import Conflict, NotFound, ValidationFailed

log = logging.getLogger(__name__)


@dataclass
class Anomalies:
    pool: asyncpg.Pool

    async def list_anomalies(self, req: ListAnomaliesRequest, ctx: RequestContext) -> AnomalyList:
        require_finance(ctx)
        async with self.pool.acquire() as conn:
            rows = await anomaly_store.anomalies(conn, req.unresolved_only, req.limit, req.offset)
        return AnomalyList(
            anomalies=[anomaly_store.view(r) for r in rows], limit=req.limit, offset=req.offset
        )

    async def resolve(self, req: ResolveAnomalyRequest, ctx: RequestContext) -> AnomalyView:
        principal = require_finance(ctx)
        resolution = req.resolution.strip()
        if not resolution:
            raise ValidationFailed("write what was done about the anomaly", field="resolution")
        operation = "payment.resolve_anomaly"
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=AnomalyView)
            row = await anomaly_store.resolve(conn, req.anomaly_id, principal.subject, resolution)
            if row is None:
                existing = await anomaly_store.resolved_at(conn, req.anomaly_id)
                if existing is None:
                    raise NotFound(f"no anomaly {req.anomaly_id}", field="anomaly_id")
                raise Conflict(
                    f"anomaly {req.anomaly_id} was already resolved",
                    field="anomaly_id",
                    resolved_at=existing["resolved_at"].isoformat(),
                )
            reply = anomaly_store.view(row)
            await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
        # Not the note: it is free text and might name people.
        log.info("payment anomaly %s (%s) resolved", reply.id, reply.kind)
        return reply
