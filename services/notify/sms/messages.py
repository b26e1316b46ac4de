"""Recording the SMS an event gives, beside its e-mail, in the same transaction (the messages'
unique key makes a redelivered event record nothing more)."""

from __future__ import annotations

import uuid

import asyncpg

from services.notify import store
from services.notify.domain.model import Recipient
from services.notify.domain.reminders import sms_decision


async def add_sms(
    conn: asyncpg.Connection,
    *,
    event_id: uuid.UUID,
    kind: str,
    customer: str,
    merchant_id: str,
    recipient: Recipient | None,
    data: dict[str, object],
) -> bool:
    """Record the SMS of `kind` to the resident, if they get one; True when a row was added."""
    decision = sms_decision(kind, recipient)
    if decision == "none" or recipient is None:
        return False
    return await store.add_message(
        conn,
        event_id=event_id,
        customer=customer,
        channel="sms",
        kind=kind,
        merchant_id=merchant_id,
        locale=recipient.locale,
        address=recipient.phone if decision == "send" else None,
        data=data,
        skipped="opted out" if decision == "opted_out" else None,
    )
