"""SQL of the service desk: desk customers, and the orders a clerk looks up."""

from __future__ import annotations

import uuid
from typing import TypeAlias

import asyncpg

Row: TypeAlias = asyncpg.Record


async def insert_customer(
    conn: asyncpg.Connection,
    subject: str,
    name: str,
    email: str,
    phone: str,
    language: str,
    clerk: str,
) -> Row:
    row = await conn.fetchrow(
        """INSERT INTO desk_customers (subject, name, email, phone, language, created_by)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        subject,
        name,
        email,
        phone,
        language,
        clerk,
    )
    assert row is not None  # RETURNING of an insert
    return row


async def customer(conn: asyncpg.Connection, subject: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM desk_customers WHERE subject = $1", subject)


async def customers_matching(
    conn: asyncpg.Connection, q: str, like: str, digits: str, limit: int
) -> list[Row]:
    """Desk customers whose name (a word of it) starts with `q`, whose e-mail is `q`, or whose
    phone number has the digits `digits` (at least 5, else not compared)."""
    rows: list[Row] = await conn.fetch(
        """SELECT d.*, CASE WHEN lower(email) = lower($1) THEN 'email'
                            WHEN $3 <> '' AND p.digits = $3 THEN 'phone'
                            ELSE 'name' END AS matched
             FROM desk_customers d
             CROSS JOIN LATERAL (SELECT regexp_replace(
                 regexp_replace(d.phone, '[^0-9]', '', 'g'), '^358', '0') AS digits) p
            WHERE lower(name) LIKE lower($2) || '%' ESCAPE '\\'
               OR lower(name) LIKE '% ' || lower($2) || '%' ESCAPE '\\'
               OR lower(email) = lower($1)
               OR ($3 <> '' AND p.digits = $3)
            ORDER BY name LIMIT $4""",
        q,
        like,
        digits,
        limit,
    )
    return rows


async def orders_matching(
    conn: asyncpg.Connection, order_id: uuid.UUID | None, number: str
) -> list[Row]:
    """The order whose id, order number or reference number (spaces ignored) is asked."""
    rows: list[Row] = await conn.fetch(
        """SELECT o.id, o.order_number, o.customer, d.name, d.email, d.phone,
                  array(SELECT DISTINCT l.snapshot->>'merchant_id' FROM order_lines l
                        WHERE l.order_id = o.id)
                      AS merchants
             FROM orders o LEFT JOIN desk_customers d ON d.subject = o.customer
            WHERE o.id = $1 OR o.order_number = $2
               OR o.reference_number = $2 OR replace(o.rf_reference, ' ', '') = upper($2)
            LIMIT 5""",
        order_id,
        number,
    )
    return rows


async def names_of(conn: asyncpg.Connection, subjects: list[str]) -> dict[str, Row]:
    rows = await conn.fetch(
        "SELECT * FROM desk_customers WHERE subject = ANY($1::text[])", subjects
    )
    return {r["subject"]: r for r in rows}
