"""JetStream consumer of the audit trail: every event of booking, cart and payment (their
`audit.recorded` records of staff and system actions, and the facts they announce) and the
records of staff actions in insights and notify, each appended once (its inbox row in the
same transaction)."""

from __future__ import annotations

from typing import Any

import asyncpg

# The event types of every service the trail follows must be known to decode them.
import shared.contracts.booking
import shared.contracts.cart
import shared.contracts.payment  # noqa: F401
from services.audit.service import AuditTrail
from shared.events import Consumer

# booking, cart and payment: every event (their facts are the system's changes); insights and
# notify: the records of staff actions on them (their own facts are about no one's change)
FOLLOWED = [
    "evt.booking.>",
    "evt.cart.>",
    "evt.payment.>",
    "evt.insights.audit.recorded",
    "evt.notify.audit.recorded",
]


def consumers(trail: AuditTrail, *, history: bool = True) -> list[Consumer]:
    async def record(conn: asyncpg.Connection, event: Any) -> None:
        await trail.record_event(conn, event)

    # each fetched batch in one transaction (a savepoint per event, the chain's lock taken
    # once): a commit per entry was most of what the trail cost
    return [
        Consumer(
            "audit-trail",
            FOLLOWED,
            record,
            batch=128,
            deliver_new_only=not history,
            one_transaction=True,
        )
    ]
