"""A resident's data in payment (GDPR): their payments, refunds and the payments' transitions.
Erasure keeps every payment, refund and ledger entry with its amounts (the books, the
Accounting Act's 6 years) under a pseudonym, and drops what could lead back to the person:
the provider's checkout address and client secret, refund notes. Asked by the audit service
only."""

from __future__ import annotations

import asyncpg

from shared.contracts.audit import (
    ErasedCounts,
    ErasePersonalDataRequest,
    PersonalData,
    PersonalDataRequest,
    StaleCustomers,
    StalePersonalDataRequest,
)
from shared.contracts.common import RequestContext
from shared.personal_data import (
    FORGET_SENT_EVENTS,
    FORGET_STORED_REPLIES,
    Erase,
    Export,
    erase,
    export,
    require_audit_service,
)

EXPORTS = (
    Export(
        "payments",
        """SELECT to_jsonb(p) - 'client_secret' - 'redirect_url' AS row FROM payments p
           WHERE customer = $1 ORDER BY created_at""",
    ),
    Export(
        "payment_transitions",
        """SELECT to_jsonb(t) AS row FROM payment_transitions t
           JOIN payments p ON p.id = t.payment_id WHERE p.customer = $1 ORDER BY t.id""",
    ),
    Export(
        "refunds",
        """SELECT to_jsonb(r) AS row FROM refunds r JOIN payments p ON p.id = r.payment_id
           WHERE p.customer = $1 ORDER BY r.created_at""",
    ),
)

ERASURE = (
    Erase(
        "refunds",
        """UPDATE refunds r SET note = '',
               actor = CASE WHEN actor = $1 THEN $2 ELSE actor END
           FROM payments p WHERE p.id = r.payment_id AND p.customer = $1""",
    ),
    Erase(
        "payments",
        """UPDATE payments SET customer = $2, redirect_url = NULL, client_secret = NULL
           WHERE customer = $1""",
    ),
    FORGET_SENT_EVENTS,
    FORGET_STORED_REPLIES,
)

STALE = """
    WITH known AS (
        SELECT customer, max(updated_at) AS last FROM payments
        WHERE customer NOT LIKE 'erased:%' AND ($3::text[] IS NULL OR customer = ANY($3))
        GROUP BY customer)
    SELECT c FROM unnest(coalesce($3::text[], ARRAY[]::text[])) AS c
    WHERE NOT EXISTS (SELECT 1 FROM known WHERE customer = c)
    UNION ALL
    SELECT customer FROM known WHERE last < now() - make_interval(days => $1)
    LIMIT $2"""


class PersonalDataOfPayment:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def personal_data(self, req: PersonalDataRequest, ctx: RequestContext) -> PersonalData:
        require_audit_service(ctx)
        async with self.pool.acquire() as conn:
            tables = await export(conn, EXPORTS, req.customer)
        return PersonalData(service="payment", tables=tables)

    async def erase_personal_data(
        self, req: ErasePersonalDataRequest, ctx: RequestContext
    ) -> ErasedCounts:
        require_audit_service(ctx)
        async with self.pool.acquire() as conn, conn.transaction():
            done, removed = await erase(conn, ERASURE, req.customer, req.pseudonym)
        return ErasedCounts(service="payment", pseudonymised=done, removed=removed)

    async def stale_customers(
        self, req: StalePersonalDataRequest, ctx: RequestContext
    ) -> StaleCustomers:
        require_audit_service(ctx)
        rows = await self.pool.fetch(STALE, req.older_than_days, req.limit, req.among)
        return StaleCustomers(customers=[r[0] for r in rows])
