"""Disputes (chargebacks): the provider takes the disputed money back at once and returns it
if the city wins. Each becomes ledger entries (kind `dispute`) and an anomaly for finance,
never silent; news of a dispute applies once, in any order."""

from __future__ import annotations

import logging

import asyncpg

from services.payment import dispute_store, ledger_store, store
from services.payment.domain.disputes import NO_WITHDRAWAL, dispute_entries
from services.payment.providers.base import WebhookNews

log = logging.getLogger(__name__)


async def on_dispute_news(
    conn: asyncpg.Connection, payment: asyncpg.Record, news: WebhookNews
) -> str:
    """Inside the webhook's transaction, the payment locked (after its order)."""
    assert news.dispute_ref is not None
    status = news.dispute_status or "needs_response"
    row = await dispute_store.dispute_by_ref(conn, payment["provider"], news.dispute_ref)
    first = row is None
    if row is None:
        row = await dispute_store.insert_dispute(
            conn,
            payment["id"],
            payment["provider"],
            news.dispute_ref,
            news.amount_cents or payment["amount_cents"],
            news.reason or "",
            status,
        )
        log.error("payment %s disputed at %s (%s)", payment["id"], payment["provider"], status)
    withdrawn = row["withdrawn"] or status not in NO_WITHDRAWAL
    reinstated = row["reinstated"] or (withdrawn and status == "won")
    lines = store.lines_of(payment)
    if withdrawn and not row["withdrawn"]:
        entries = dispute_entries(
            lines, row["amount_cents"], payment["sale_date"], reinstated=False
        )
        await ledger_store.add_ledger(conn, payment["id"], None, entries, dispute_id=row["id"])
    if reinstated and not row["reinstated"]:
        entries = dispute_entries(lines, row["amount_cents"], payment["sale_date"], reinstated=True)
        await ledger_store.add_ledger(conn, payment["id"], None, entries, dispute_id=row["id"])
    await dispute_store.update_dispute(
        conn, row["id"], status=status, withdrawn=withdrawn, reinstated=reinstated
    )
    if not (first or news.dispute_closed):
        return f"dispute_{status}"
    kind = "dispute_closed" if news.dispute_closed else "dispute"
    await store.record_anomaly(
        conn,
        payment["id"],
        payment["provider"],
        news.event_id,
        kind,
        {
            "dispute_ref": news.dispute_ref,
            "status": status,
            "reason": row["reason"],
            "amount_cents": row["amount_cents"],
            "withdrawn": withdrawn,
            "reinstated": reinstated,
        },
    )
    return f"dispute_{status}"
