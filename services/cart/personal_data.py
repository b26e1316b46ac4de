"""A resident's data in cart (GDPR): carts and their lines, messages, orders with their lines
and refund requests, the library card link and registrations, GIS download rights. Erasure
keeps every order and amount (the books, the Accounting Act's 6 years) under a pseudonym, and
removes what is only about the person: messages, the card link, the Koha patron id, notes,
the open cart. Asked by the audit service only."""

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
    Export("carts", "SELECT to_jsonb(c) AS row FROM carts c WHERE customer = $1"),
    Export(
        "cart_lines",
        """SELECT to_jsonb(l) AS row FROM cart_lines l JOIN carts c ON c.id = l.cart_id
           WHERE c.customer = $1 ORDER BY l.added_at""",
    ),
    Export("cart_messages", "SELECT to_jsonb(m) AS row FROM cart_messages m WHERE customer = $1"),
    Export(
        "orders",
        "SELECT to_jsonb(o) AS row FROM orders o WHERE customer = $1 ORDER BY created_at",
    ),
    Export(
        "order_lines",
        """SELECT to_jsonb(l) AS row FROM order_lines l JOIN orders o ON o.id = l.order_id
           WHERE o.customer = $1 ORDER BY o.created_at, l.position""",
    ),
    Export(
        "refund_requests",
        """SELECT to_jsonb(r) AS row FROM refund_requests r JOIN orders o ON o.id = r.order_id
           WHERE o.customer = $1""",
    ),
    Export("library_cards", "SELECT to_jsonb(k) AS row FROM library_cards k WHERE customer = $1"),
    Export(
        "library_registrations",
        """SELECT to_jsonb(g) - 'last_error' AS row FROM library_registrations g
           JOIN orders o ON o.id = g.order_id WHERE o.customer = $1""",
    ),
    Export(
        "gis_entitlements",
        "SELECT to_jsonb(e) - 'file_path' AS row FROM gis_entitlements e WHERE customer = $1",
    ),
    Export("desk_customers", "SELECT to_jsonb(d) AS row FROM desk_customers d WHERE subject = $1"),
)

ERASURE = (
    # the open cart is nobody's business after erasure: its lines go, the cart stays empty
    Erase(
        "cart_lines",
        """DELETE FROM cart_lines WHERE cart_id IN
               (SELECT id FROM carts WHERE customer = $1 AND state = 'open') AND $2 <> ''""",
        True,
    ),
    Erase(
        "refund_requests",
        """UPDATE refund_requests r SET note = '',
               requested_by = CASE WHEN requested_by = $1 THEN $2 ELSE requested_by END
           FROM orders o WHERE o.id = r.order_id AND o.customer = $1""",
    ),
    Erase(
        "library_registrations",
        """UPDATE library_registrations g SET patron_id = $2, last_error = NULL
           FROM orders o WHERE o.id = g.order_id AND o.customer = $1""",
    ),
    Erase("carts", "UPDATE carts SET customer = $2 WHERE customer = $1"),
    Erase(
        "orders",
        """UPDATE orders SET customer = $2,
               cancel_reason = CASE WHEN cancel_reason IS NULL THEN NULL ELSE '[erased]' END
           WHERE customer = $1""",
    ),
    Erase("gis_entitlements", "UPDATE gis_entitlements SET customer = $2 WHERE customer = $1"),
    Erase("cart_messages", "DELETE FROM cart_messages WHERE customer = $1 AND $2 <> ''", True),
    Erase("library_cards", "DELETE FROM library_cards WHERE customer = $1 AND $2 <> ''", True),
    # a phone booker's record (name, phone, e-mail) is only about them
    Erase("desk_customers", "DELETE FROM desk_customers WHERE subject = $1 AND $2 <> ''", True),
    FORGET_SENT_EVENTS,
    FORGET_STORED_REPLIES,
)

STALE = stale_query(
    """
    SELECT customer, updated_at AS last FROM carts
    UNION ALL SELECT customer, updated_at FROM orders
    UNION ALL SELECT customer, expires_at FROM gis_entitlements
    UNION ALL SELECT customer, linked_at FROM library_cards
    UNION ALL SELECT subject, created_at FROM desk_customers"""
)


def operations(pool: asyncpg.Pool) -> PersonalDataOperations:
    return PersonalDataOperations(pool, "cart", EXPORTS, ERASURE, STALE)
