"""Keeping the projection the figures are read from: booking's catalogue and reservations,
cart's paid order lines, payment's refunds. Each event is applied once (inbox) in its own
transaction; a reservation's older announcement arriving late changes nothing (`sequence`)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.insights import store
from shared.contracts import booking as b
from shared.contracts import cart
from shared.contracts import payment as p
from shared.events import Consumer

RESERVATION_EVENTS: tuple[type[b.ReservationEvent], ...] = (
    b.ReservationHeld,
    b.ReservationRequested,
    b.ReservationApproved,
    b.ReservationDenied,
    b.ReservationConfirmed,
    b.ReservationCancelled,
    b.ReservationExpired,
    b.ReservationConfirmFailed,
    b.ReservationNoShow,
    b.ReservationAnnounced,
)


async def on_booking(conn: asyncpg.Connection, event: Any) -> None:
    if isinstance(event, b.ReservationEvent):
        await store.save_reservation(conn, event)
    elif isinstance(event, b.UnitSaved):
        await store.save_unit(conn, event)
    elif isinstance(event, b.ResourceSaved):
        await store.save_resource(conn, event)
    elif isinstance(event, b.HoursSet):
        await store.set_hours(conn, event)
    elif isinstance(event, b.ClosureAdded):
        await store.add_closure(conn, event)
    elif isinstance(event, b.ClosureRemoved):
        await store.remove_closure(conn, event)


async def on_money(conn: asyncpg.Connection, event: Any) -> None:
    if isinstance(event, cart.OrderPaid):
        await store.save_paid_lines(conn, event)
    elif isinstance(event, p.PaymentRefunded):
        await store.save_refund(conn, event)


def consumers() -> list[Consumer]:
    booking_subjects = [e.subject for e in RESERVATION_EVENTS]
    booking_subjects += [
        b.UnitSaved.subject,
        b.ResourceSaved.subject,
        b.HoursSet.subject,
        b.ClosureAdded.subject,
        b.ClosureRemoved.subject,
    ]
    # each fetched batch in one transaction (a savepoint per event): figures are many small
    # writes, and a commit per event was most of what they cost
    return [
        Consumer("insights-booking", booking_subjects, on_booking, batch=256, one_transaction=True),
        Consumer(
            "insights-money",
            [cart.OrderPaid.subject, p.PaymentRefunded.subject],
            on_money,
            batch=256,
            one_transaction=True,
        ),
    ]
