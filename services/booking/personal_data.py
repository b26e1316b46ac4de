"""A resident's data in booking (GDPR): their reservations, calendar feed and waiting list;
erasure puts a pseudonym in place of their subject (the reservations stay, for the city's
figures and the orders paid for them) and removes their feed token and waiting-list entries.
Asked by the audit service only."""

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
        "reservations",
        """SELECT to_jsonb(r) - 'guarded' AS row FROM reservations r
           WHERE customer = $1 ORDER BY created_at""",
    ),
    Export(
        "calendar_tokens",  # that a feed exists and since when; never the token's hash
        "SELECT jsonb_build_object('created_at', created_at) AS row FROM calendar_tokens "
        "WHERE customer = $1",
    ),
    Export(  # the waiting list (issue 18): times queued for and offers
        "waitlist_entries",
        """SELECT (to_jsonb(w) - 'booker' - 'during') || jsonb_build_object(
                      'starts_at', lower(during), 'ends_at', upper(during)) AS row
           FROM waitlist_entries w WHERE customer = $1 ORDER BY created_at""",
    ),
)

ERASURE = (
    Erase(
        "reservations",
        """UPDATE reservations SET customer = $2,
               reason = CASE WHEN reason IS NULL THEN NULL ELSE '[erased]' END
           WHERE customer = $1""",
    ),
    Erase("calendar_tokens", "DELETE FROM calendar_tokens WHERE customer = $1 AND $2 <> ''", True),
    Erase(
        "waitlist_entries", "DELETE FROM waitlist_entries WHERE customer = $1 AND $2 <> ''", True
    ),
    FORGET_SENT_EVENTS,
    FORGET_STORED_REPLIES,
)

# Customers none of whose reservations ended or changed within the period ($1 days); with
# $3 (a list), only those of it (also those booking does not know).
STALE = stale_query(
    "SELECT customer, greatest(updated_at, upper(during)) AS last FROM reservations"
)


def operations(pool: asyncpg.Pool) -> PersonalDataOperations:
    return PersonalDataOperations(pool, "booking", EXPORTS, ERASURE, STALE)
