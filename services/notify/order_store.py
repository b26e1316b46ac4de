"""SQL of the orders notify knows from cart's events (asyncpg)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.contracts.cart import OrderLineSnapshot


@dataclass(frozen=True)
class KnownOrder:
    order_id: uuid.UUID
    order_number: str
    customer: str
    lines: dict[str, dict[str, Any]]  # line id -> merchant_id, description


async def remember(
    conn: asyncpg.Connection,
    order_id: uuid.UUID,
    order_number: str,
    customer: str,
    lines: list[OrderLineSnapshot],
) -> None:
    """The order and its lines (the first event that names them; later ones change nothing)."""
    await conn.execute(
        """INSERT INTO orders (order_id, order_number, customer, lines) VALUES ($1, $2, $3, $4)
           ON CONFLICT (order_id) DO NOTHING""",
        order_id,
        order_number,
        customer,
        {
            str(line.line_id): {"merchant_id": line.merchant_id, "description": line.description}
            for line in lines
        },
    )


async def order(conn: asyncpg.Connection, order_id: uuid.UUID) -> KnownOrder | None:
    row = await conn.fetchrow(
        "SELECT order_id, order_number, customer, lines FROM orders WHERE order_id = $1",
        order_id,
    )
    return KnownOrder(**dict(row)) if row else None


async def buyers(conn: asyncpg.Connection, order_ids: list[uuid.UUID]) -> set[str]:
    """The customers who bought the given orders (those notify knows), in one query."""
    rows = await conn.fetch(
        "SELECT DISTINCT customer FROM orders WHERE order_id = ANY($1::uuid[])", order_ids
    )
    return {r["customer"] for r in rows}
