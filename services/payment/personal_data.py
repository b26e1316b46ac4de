"""A resident's data in payment (GDPR): their payments, refunds and the payments' transitions.
Erasure keeps every payment, refund and ledger entry with its amounts (the books, the
Accounting Act's 6 years) under a pseudonym, and drops what could lead back to the person:
the provider's checkout address and client secret, refund notes. Asked by the audit service
only."""

from __future__ import annotations

import asyncpg

from shared.personal_data import (
    FORGET_SENT_EVENTS,
    FORGET_STORED_REPLIES,
    Erase,
    Export,
    PersonalDataOperations,
    stale_query,
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
    # Organisations they are a contact person of, and the invoices they had issued.
    Export(
        "organisations",
        """SELECT to_jsonb(o) AS row FROM organisations o
           WHERE $1 = ANY (o.contact_persons) ORDER BY o.created_at""",
    ),
    Export(
        "invoices",
        """SELECT to_jsonb(i) AS row FROM invoices i WHERE i.issued_by = $1 ORDER BY i.number""",
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
    # An invoice is the organisation's accounting record: kept, the person who had it
    # issued pseudonymised; they stop being a contact person of any organisation.
    Erase("invoices", "UPDATE invoices SET issued_by = $2 WHERE issued_by = $1"),
    Erase(
        "organisations",
        """UPDATE organisations SET contact_persons = array_remove(contact_persons, $1),
               created_by = CASE WHEN created_by = $1 THEN $2 ELSE created_by END,
               updated_by = CASE WHEN updated_by = $1 THEN $2 ELSE updated_by END
           WHERE $1 = ANY (contact_persons) OR created_by = $1 OR updated_by = $1""",
    ),
    # payment links made for them (the token is stored hashed): gone with their identity
    Erase("payment_links", "DELETE FROM payment_links WHERE customer = $1 AND $2 <> ''", True),
    FORGET_SENT_EVENTS,
    FORGET_STORED_REPLIES,
)

STALE = stale_query("SELECT customer, updated_at AS last FROM payments")


def operations(pool: asyncpg.Pool) -> PersonalDataOperations:
    return PersonalDataOperations(pool, "payment", EXPORTS, ERASURE, STALE)
