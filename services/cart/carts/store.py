"""SQL of carts, their lines and the messages shown with them."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import asyncpg

from services.cart.domain.model import CartLine, LineDraft
from shared.contracts.cart import CartMessage
from shared.errors import Conflict


class RemovedLine(NamedTuple):
    customer: str
    description: str


async def ensure_open_cart(conn: asyncpg.Connection, customer: str) -> uuid.UUID:
    await conn.execute(
        """INSERT INTO carts (id, customer) VALUES ($1, $2)
           ON CONFLICT (customer) WHERE state = 'open' DO NOTHING""",
        uuid.uuid4(),
        customer,
    )
    return await conn.fetchval(
        "SELECT id FROM carts WHERE customer = $1 AND state = 'open'", customer
    )


async def open_cart_id(conn: asyncpg.Connection, customer: str) -> uuid.UUID | None:
    return await conn.fetchval(
        "SELECT id FROM carts WHERE customer = $1 AND state = 'open'", customer
    )


async def lock_open_cart(conn: asyncpg.Connection, customer: str) -> uuid.UUID | None:
    """The open cart, locked: concurrent checkouts of one cart queue here."""
    return await conn.fetchval(
        "SELECT id FROM carts WHERE customer = $1 AND state = 'open' FOR UPDATE", customer
    )


async def lock_if_open(conn: asyncpg.Connection, cart_id: uuid.UUID) -> bool:
    """Lock the cart; is it still open (not checked out by a racing checkout meanwhile)?"""
    state = await conn.fetchval("SELECT state FROM carts WHERE id = $1 FOR UPDATE", cart_id)
    return state == "open"


async def check_out(conn: asyncpg.Connection, cart_id: uuid.UUID) -> None:
    """The cart became an order: the resident's next line opens a new cart."""
    await conn.execute(
        "UPDATE carts SET state = 'checked_out', updated_at = now() WHERE id = $1", cart_id
    )


def _line(r: asyncpg.Record) -> CartLine:
    return CartLine(
        id=r["id"],
        cart_id=r["cart_id"],
        kind=r["kind"],
        reference=r["reference"],
        description=r["description"],
        merchant_id=r["merchant_id"],
        cost_centre=r["cost_centre"],
        quantity=r["quantity"],
        gross_cents=r["gross_cents"],
        net_cents=r["net_cents"],
        vat_cents=r["vat_cents"],
        vat_rate_bp=r["vat_rate_bp"],
        details=r["details"] or {},
    )


async def cart_lines(conn: asyncpg.Connection, cart_id: uuid.UUID) -> list[CartLine]:
    rows = await conn.fetch(
        "SELECT * FROM cart_lines WHERE cart_id = $1 ORDER BY added_at, id", cart_id
    )
    return [_line(r) for r in rows]


async def insert_line(conn: asyncpg.Connection, cart_id: uuid.UUID, line: LineDraft) -> None:
    inserted = await conn.fetchval(
        """INSERT INTO cart_lines (id, cart_id, kind, reference, description, merchant_id,
               cost_centre, quantity, gross_cents, net_cents, vat_cents, vat_rate_bp, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (cart_id, kind, reference) DO NOTHING RETURNING true""",
        uuid.uuid4(),
        cart_id,
        line.kind,
        line.reference,
        line.description,
        line.merchant_id,
        line.cost_centre,
        line.quantity,
        line.gross_cents,
        line.net_cents,
        line.vat_cents,
        line.vat_rate_bp,
        line.details,
    )
    if not inserted:
        raise Conflict("this is already in the cart", field="reference", kind=line.kind)
    await conn.execute("UPDATE carts SET updated_at = now() WHERE id = $1", cart_id)


async def update_line_price(
    conn: asyncpg.Connection, line_id: uuid.UUID, gross: int, net: int, vat: int
) -> None:
    await conn.execute(
        """UPDATE cart_lines SET gross_cents = $2, net_cents = $3, vat_cents = $4
           WHERE id = $1""",
        line_id,
        gross,
        net,
        vat,
    )


async def delete_line(conn: asyncpg.Connection, cart_id: uuid.UUID, line_id: uuid.UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM cart_lines WHERE cart_id = $1 AND id = $2 RETURNING true", cart_id, line_id
    )
    return bool(deleted)


async def delete_open_lines_of(
    conn: asyncpg.Connection, kind: str, reference: str
) -> list[RemovedLine]:
    """Remove a line of `kind`/`reference` from every open cart."""
    rows = await conn.fetch(
        """DELETE FROM cart_lines l USING carts c
           WHERE l.cart_id = c.id AND c.state = 'open' AND l.kind = $1 AND l.reference = $2
           RETURNING c.customer, l.description""",
        kind,
        reference,
    )
    return [RemovedLine(r["customer"], r["description"]) for r in rows]


async def add_message(conn: asyncpg.Connection, customer: str, code: str, message: str) -> None:
    await conn.execute(
        "INSERT INTO cart_messages (customer, code, message) VALUES ($1, $2, $3)",
        customer,
        code,
        message,
    )


async def take_messages(conn: asyncpg.Connection, customer: str) -> list[CartMessage]:
    rows = await conn.fetch(
        """UPDATE cart_messages SET seen_at = now()
           WHERE customer = $1 AND seen_at IS NULL RETURNING code, message, created_at""",
        customer,
    )
    return [
        CartMessage(code=r["code"], message=r["message"], created_at=r["created_at"]) for r in rows
    ]
