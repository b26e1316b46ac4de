"""Mechanism for the residents' data rights (GDPR) in each service: who may ask, a service's
tables read as JSON rows, erasure statements run in one transaction and counted. Which tables
hold a person's data, and what erasure does to each, is each service's own
(`services/<name>/personal_data.py`); the audit service asks them over NATS.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from shared.errors import Forbidden

AUDIT = "system:audit"


def require_audit_service(ctx: RequestContext) -> None:
    """Only the audit service (its system principal) reads or erases a person's data here."""
    principal = ctx.principal
    if principal is None or not principal.is_system or principal.subject != AUDIT:
        raise Forbidden("only the audit service asks for a person's data")


@dataclass(frozen=True)
class Export:
    """One table's rows about the person ($1 = their subject), as JSON objects."""

    table: str
    sql: str  # selects one column `row` (jsonb)


@dataclass(frozen=True)
class Erase:
    """One statement of erasure ($1 = subject, $2 = pseudonym); `removes`: it deletes rows
    (counted as removed), else it pseudonymises them."""

    table: str
    sql: str
    removes: bool = False


async def export(
    conn: asyncpg.Connection, exports: Sequence[Export], subject: str
) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for item in exports:
        rows = await conn.fetch(item.sql, subject)
        tables[item.table] = [_plain(r["row"]) for r in rows]
    return tables


def _plain(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # a connection without the jsonb codec
        loaded: dict[str, Any] = json.loads(value)
        return loaded
    return dict(value)


async def erase(
    conn: asyncpg.Connection, statements: Sequence[Erase], subject: str, pseudonym: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Run `statements` in the caller's transaction: (pseudonymised, removed) rows per table."""
    pseudonymised: dict[str, int] = {}
    removed: dict[str, int] = {}
    for item in statements:
        status = await conn.execute(item.sql, subject, pseudonym)
        count = int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0
        into = removed if item.removes else pseudonymised
        into[item.table] = into.get(item.table, 0) + count
    return pseudonymised, removed


# Events already published that name the person (the outbox keeps them for a while after);
# unsent ones stay, to be published (and purged with the rest).
FORGET_SENT_EVENTS = Erase(
    "outbox",
    """DELETE FROM outbox WHERE sent_at IS NOT NULL
           AND position(convert_to($1, 'UTF8') in payload) > 0 AND $2 <> ''""",
    True,
)


# Stored replies of the person's own commands, and any other stored reply naming them.
FORGET_STORED_REPLIES = Erase(
    "idempotency_keys",
    """DELETE FROM idempotency_keys
       WHERE (right(scope, length($1) + 6) = '|user:' || $1
              OR position(convert_to($1, 'UTF8') in response) > 0) AND $2 <> ''""",
    True,
)


def stale_query(last_seen: str) -> str:
    """The `stale_customers` query of a service: `last_seen` selects (customer, last) rows, the
    last time something of the customer's changed or happened in one of its tables. $1: days
    without anything new, $2: how many at most, $3: among these subjects only (or NULL)."""
    return f"""
    WITH known AS (
        SELECT customer, max(last) AS last FROM ({last_seen}) AS t
        WHERE customer NOT LIKE 'erased:%' AND ($3::text[] IS NULL OR customer = ANY($3))
        GROUP BY customer)
    SELECT c FROM unnest(coalesce($3::text[], ARRAY[]::text[])) AS c
    WHERE NOT EXISTS (SELECT 1 FROM known WHERE customer = c)
    UNION ALL
    SELECT customer FROM known WHERE last < now() - make_interval(days => $1)
    LIMIT $2"""  # noqa: S608 - `last_seen` is each service's own constant query


@dataclass(frozen=True)
class PersonalDataOperations:
    """A service's part of residents' data rights, asked by the audit service only: the
    person's rows (`exports`), their erasure (`erasure`, in one transaction) and who has had
    nothing new for a number of days (`stale_sql`: $1 days, $2 at most, $3 among these)."""

    pool: asyncpg.Pool
    service: str
    exports: Sequence[Export]
    erasure: Sequence[Erase]
    stale_sql: str

    async def personal_data(self, req: PersonalDataRequest, ctx: RequestContext) -> PersonalData:
        require_audit_service(ctx)
        async with self.pool.acquire() as conn:
            tables = await export(conn, self.exports, req.customer)
        return PersonalData(service=self.service, tables=tables)

    async def erase_personal_data(
        self, req: ErasePersonalDataRequest, ctx: RequestContext
    ) -> ErasedCounts:
        require_audit_service(ctx)
        async with self.pool.acquire() as conn, conn.transaction():
            done, removed = await erase(conn, self.erasure, req.customer, req.pseudonym)
        return ErasedCounts(service=self.service, pseudonymised=done, removed=removed)

    async def stale_customers(
        self, req: StalePersonalDataRequest, ctx: RequestContext
    ) -> StaleCustomers:
        require_audit_service(ctx)
        rows = await self.pool.fetch(self.stale_sql, req.older_than_days, req.limit, req.among)
        return StaleCustomers(customers=[r[0] for r in rows])
