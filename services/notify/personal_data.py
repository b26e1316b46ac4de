"""A resident's data in notify (GDPR): their contact details, the messages told to them (with
the addresses they went to), the orders notify remembers of theirs, their reminders and the
development SMS sent to them. Erasure removes the contact details, the addresses and message
texts (the development SMS) and names them in what stays (messages, orders, reminders: staff
still see that something was sent, not to whom) by their pseudonym. Asked by the audit
service only."""

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
    Export("contacts", "SELECT to_jsonb(c) AS row FROM contacts c WHERE customer = $1"),
    Export(
        "messages",
        """SELECT to_jsonb(m) - 'last_error' AS row FROM messages m WHERE customer = $1
           ORDER BY created_at""",
    ),
    Export("orders", "SELECT to_jsonb(o) AS row FROM orders o WHERE customer = $1"),
    Export("reminders", "SELECT to_jsonb(r) AS row FROM reminders r WHERE customer = $1"),
    Export(
        "dev_sms",
        """SELECT to_jsonb(d) AS row FROM dev_sms d JOIN messages m ON m.id = d.message_id
           WHERE m.customer = $1""",
    ),
)

ERASURE = (
    Erase(
        "dev_sms",
        """DELETE FROM dev_sms WHERE message_id IN
               (SELECT id FROM messages WHERE customer = $1) AND $2 <> ''""",
        True,
    ),
    Erase("contacts", "DELETE FROM contacts WHERE customer = $1 AND $2 <> ''", True),
    Erase(
        "messages",
        "UPDATE messages SET customer = $2, address = NULL, last_error = NULL WHERE customer = $1",
    ),
    Erase("orders", "UPDATE orders SET customer = $2 WHERE customer = $1"),
    Erase("reminders", "UPDATE reminders SET customer = $2 WHERE customer = $1"),
    FORGET_SENT_EVENTS,
    FORGET_STORED_REPLIES,
)

STALE = stale_query(
    """
    SELECT customer, updated_at AS last FROM contacts
    UNION ALL SELECT customer, created_at FROM messages
    UNION ALL SELECT customer, created_at FROM orders
    UNION ALL SELECT customer, updated_at FROM reminders"""
)


def operations(pool: asyncpg.Pool) -> PersonalDataOperations:
    return PersonalDataOperations(pool, "notify", EXPORTS, ERASURE, STALE)
