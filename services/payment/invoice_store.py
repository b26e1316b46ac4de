"""SQL of organisations and invoices (parameterised; the caller owns the transaction)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, TypeAlias

import asyncpg
import msgspec

from services.payment.domain.invoices import is_overdue
from shared.contracts.invoicing import (
    BillingAddress,
    InvoiceLine,
    InvoiceView,
    OrganisationView,
    SaveOrganisationRequest,
)

Row: TypeAlias = asyncpg.Record

# An invoice's open amount: its own, less its credit notes (negative) and what was paid.
_INVOICE = """SELECT i.*, CASE WHEN i.kind = 'invoice' THEN i.amount_cents
                  + COALESCE((SELECT sum(c.amount_cents) FROM invoices c WHERE c.credits = i.id), 0)
                  - COALESCE(i.paid_cents, 0) ELSE 0 END AS open_cents
              FROM invoices i"""


def organisation_view(row: Row) -> OrganisationView:
    return OrganisationView(
        organisation_id=row["id"],
        name=row["name"],
        business_id=row["business_id"],
        customer_group=row["customer_group"],
        billing_address=msgspec.convert(row["billing_address"], BillingAddress),
        einvoice_address=row["einvoice_address"],
        einvoice_operator=row["einvoice_operator"],
        contact_persons=list(row["contact_persons"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        language=row["language"],
    )


async def save_organisation(
    conn: asyncpg.Connection,
    organisation_id: uuid.UUID,
    req: SaveOrganisationRequest,
    business_id: str,
    actor: str,
) -> Row | None:
    """Insert or replace; None when `organisation_id` is given but unknown. A business ID that
    another organisation has raises asyncpg's UniqueViolationError."""
    values = (
        organisation_id,
        req.name.strip(),
        business_id,
        req.customer_group,
        msgspec.to_builtins(req.billing_address),
        req.einvoice_address,
        req.einvoice_operator,
        sorted(set(req.contact_persons)),
        actor,
        req.language,
    )
    if req.organisation_id is None:
        return await conn.fetchrow(
            """INSERT INTO organisations (id, name, business_id, customer_group, billing_address,
                   einvoice_address, einvoice_operator, contact_persons, created_by, updated_by,
                   language)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING *""",
            *values,
        )
    return await conn.fetchrow(
        """UPDATE organisations SET name = $2, business_id = $3, customer_group = $4,
               billing_address = $5, einvoice_address = $6, einvoice_operator = $7,
               contact_persons = $8, updated_by = $9, language = $10, updated_at = now()
           WHERE id = $1 RETURNING *""",
        *values,
    )


async def organisation(conn: asyncpg.Connection, organisation_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow("SELECT * FROM organisations WHERE id = $1", organisation_id)


async def organisations(
    conn: asyncpg.Connection, name: str, contact: str | None, limit: int, offset: int
) -> list[Row]:
    """By name or business ID (part of it); only those `contact` is a contact person of."""
    return await conn.fetch(
        """SELECT * FROM organisations
           WHERE ($1 = '' OR name ILIKE '%' || $1 || '%' OR business_id LIKE '%' || $1 || '%')
             AND ($2::text IS NULL OR $2 = ANY (contact_persons))
           ORDER BY name, id LIMIT $3 OFFSET $4""",
        name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),
        contact,
        limit,
        offset,
    )


async def next_number(conn: asyncpg.Connection) -> int:
    number: int = await conn.fetchval("SELECT nextval('invoice_numbers')")
    return number


async def insert_invoice(conn: asyncpg.Connection, **values: Any) -> Row:
    values["lines"] = msgspec.to_builtins(values["lines"])
    columns = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO invoices ({columns}) VALUES ({params}) RETURNING id",  # noqa: S608 - column names from our callers, values bound
        *values.values(),
    )
    found = await invoice(conn, row["id"])
    assert found is not None  # inserted just now
    return found


async def invoice(conn: asyncpg.Connection, invoice_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(f"{_INVOICE} WHERE i.id = $1", invoice_id)


async def invoice_of_payment(
    conn: asyncpg.Connection, payment_id: uuid.UUID, lock: bool = False
) -> Row | None:
    if lock:
        await conn.execute(
            "SELECT 1 FROM invoices WHERE payment_id = $1 AND kind = 'invoice' FOR UPDATE",
            payment_id,
        )
    return await conn.fetchrow(
        f"{_INVOICE} WHERE i.payment_id = $1 AND i.kind = 'invoice'",
        payment_id,
    )


async def credit_note_of_refund(conn: asyncpg.Connection, refund_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(f"{_INVOICE} WHERE i.refund_id = $1", refund_id)


async def invoice_by_reference(conn: asyncpg.Connection, reference: str) -> Row | None:
    """The invoice (not a credit note) of a reference number, locked."""
    found = await conn.fetchrow(
        """SELECT id FROM invoices WHERE kind = 'invoice'
           AND ltrim(reference_number, '0') = $1 FOR UPDATE""",
        reference,
    )
    return await invoice(conn, found["id"]) if found else None


async def mark_paid(
    conn: asyncpg.Connection, invoice_id: uuid.UUID, paid_on: date, cents: int
) -> None:
    await conn.execute(
        "UPDATE invoices SET state = 'paid', paid_on = $2, paid_cents = $3 WHERE id = $1",
        invoice_id,
        paid_on,
        cents,
    )


async def mark_credited(conn: asyncpg.Connection, invoice_id: uuid.UUID) -> None:
    """Credited in full: nothing left to pay."""
    await conn.execute(
        "UPDATE invoices SET state = 'credited' WHERE id = $1 AND state = 'open'", invoice_id
    )


async def invoices(
    conn: asyncpg.Connection,
    *,
    overdue_on: date | None,
    organisation_ids: list[uuid.UUID] | None,
    limit: int,
    offset: int,
    state: str | None = None,
    kind: str | None = None,
) -> list[Row]:
    """Newest first; `overdue_on`: only invoices still open whose due date is before it;
    `state`, `kind`: only those in that state, of that kind."""
    return await conn.fetch(
        f"""SELECT * FROM ({_INVOICE}) x
            WHERE ($1::date IS NULL OR (x.kind = 'invoice' AND x.state = 'open'
                                        AND x.due_date < $1 AND x.open_cents > 0))
              AND ($2::uuid[] IS NULL OR x.organisation_id = ANY ($2::uuid[]))
              AND ($5::text IS NULL OR x.state = $5)
              AND ($6::text IS NULL OR x.kind = $6)
            ORDER BY x.invoice_date DESC, x.number DESC LIMIT $3 OFFSET $4""",  # noqa: S608
        overdue_on,
        organisation_ids,
        limit,
        offset,
        state,
        kind,
    )


async def invoices_of_day(conn: asyncpg.Connection, day: date) -> list[Row]:
    return await conn.fetch(
        f"{_INVOICE} WHERE i.invoice_date = $1 ORDER BY i.number",
        day,
    )


def invoice_view(row: Row, today: date) -> InvoiceView:
    customer = row["customer"]
    return InvoiceView(
        invoice_id=row["id"],
        invoice_number=row["number"],
        kind=row["kind"],
        credits=row["credits"],
        payment_id=row["payment_id"],
        order_id=row["order_id"],
        order_number=row["order_number"],
        organisation_id=row["organisation_id"],
        customer_name=customer["name"],
        business_id=customer["business_id"],
        billing_address=msgspec.convert(customer["billing_address"], BillingAddress),
        einvoice_address=customer["einvoice_address"],
        einvoice_operator=customer["einvoice_operator"],
        reference_number=row["reference_number"],
        invoice_date=row["invoice_date"],
        due_date=row["due_date"],
        payment_terms_days=row["payment_terms_days"],
        amount_cents=row["amount_cents"],
        vat_cents=row["vat_cents"],
        open_cents=row["open_cents"],
        lines=msgspec.convert(row["lines"], list[InvoiceLine]),
        state=row["state"],
        overdue=is_overdue(row["kind"], row["state"], row["open_cents"], row["due_date"], today),
        paid_on=row["paid_on"],
        paid_cents=row["paid_cents"],
    )
