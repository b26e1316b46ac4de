"""Library use cases: link a card (behind the PIN lock-out), list debits, clerk operations.
Recording payments in the library is the worker's (`library_recording`)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import asyncpg
import msgspec

from services.cart import fulfilment, library_pins, library_store, store
from services.cart.access import require_role, resident
from services.cart.carts import debit_order_details, patron_or_refuse, read_debits
from services.cart.deps import Deps
from services.cart.domain.library import non_payable_reason
from services.cart.library.base import CardRejected, Debit, LibraryError, LibraryMisconfigured
from services.cart.views import page
from shared import idempotency
from shared.contracts.cart import (
    LibraryCard,
    LibraryDebit,
    LibraryDebits,
    LibraryDebitsRequest,
    LibraryDebitState,
    LinkLibraryCardRequest,
    ListRegistrationsRequest,
    Registration,
    RegistrationActionRequest,
    RegistrationList,
    RegistrationLog,
    RegistrationLogRequest,
)
from shared.contracts.common import RequestContext
from shared.errors import Conflict, Forbidden, NotFound, Unavailable, ValidationFailed

log = logging.getLogger(__name__)
UNAVAILABLE = "the library service is unavailable; please try again later"


async def link_card(deps: Deps, req: LinkLibraryCardRequest, ctx: RequestContext) -> LibraryCard:
    principal = resident(ctx)
    card = req.card_number.strip()
    if not card.isalnum() or not 4 <= len(card) <= 32:
        raise ValidationFailed("check the library card number", field="card_number")
    if not req.pin or len(req.pin) > 64:
        raise ValidationFailed("enter the PIN of the card", field="pin")
    attempt = await library_pins.admit(deps, card, ctx.client_address)
    try:
        patron = await deps.library.patron_for_card(card, req.pin)
    except CardRejected:
        raise Forbidden(
            "the card number or PIN is wrong",
            field="pin",
            attempts_left=attempt.attempts_left,
            locked_for_minutes=library_pins.minutes(attempt.locked_for_s)
            if attempt.locked_for_s
            else 0,
        ) from None
    except LibraryError as exc:
        await library_pins.not_checked(deps, attempt)
        if isinstance(exc, LibraryMisconfigured):  # the operator's to fix (no card, no PIN)
            log.error("library card check: the library refused the cart: %s", exc)
        raise Unavailable(UNAVAILABLE) from exc
    await library_pins.succeeded(deps, attempt)
    async with deps.pool.acquire() as conn:
        linked_at = await library_store.link_card(conn, principal.subject, patron, card[-4:])
    return LibraryCard(card_last4=card[-4:], linked_at=linked_at)


def _debit_view(deps: Deps, d: Debit, order: asyncpg.Record | None, customer: str) -> LibraryDebit:
    state: LibraryDebitState = "payable"
    reason = non_payable_reason(d.debit_type, deps.settings.non_payable_types)
    order_id = order_number = None
    if order is not None:  # as add_library_debits would refuse it (409)
        shown = debit_order_details(order, d.account_line_id, customer)
        order_id, order_number = shown.get("order_id"), shown.get("order_number")
        if order["state"] == "awaiting_payment":
            state, reason = "awaiting_payment", "in an order awaiting payment"
        else:
            state, reason = "paid", "paid online; being recorded in the library"
    elif reason:
        state = "not_payable"
    return LibraryDebit(
        account_line_id=d.account_line_id,
        debit_type=d.debit_type,
        description=d.description,
        amount_outstanding_cents=d.amount_outstanding_cents,
        payable=state == "payable",
        reason=reason,
        state=state,
        order_id=uuid.UUID(order_id) if order_id else None,
        order_number=order_number,
    )


async def debits(deps: Deps, _: LibraryDebitsRequest, ctx: RequestContext) -> LibraryDebits:
    principal = resident(ctx)
    async with deps.pool.acquire() as conn:
        patron = await patron_or_refuse(conn, principal.subject)
    outstanding = await read_debits(deps, patron)
    async with deps.pool.acquire() as conn:
        held = await library_store.debits_in_orders(conn, [str(i) for i in outstanding])
    items = [
        _debit_view(deps, d, held.get(str(d.account_line_id)), principal.subject)
        for d in outstanding.values()
    ]
    return LibraryDebits(
        debits=items,
        payable_total_cents=sum(d.amount_outstanding_cents for d in items if d.payable),
        minimum_payable_cents=deps.settings.library_minimum_payable_cents,
    )


# --- library clerks -------------------------------------------------------------------------


async def list_registrations(
    deps: Deps, req: ListRegistrationsRequest, ctx: RequestContext
) -> RegistrationList:
    require_role(ctx, "library_clerk")
    async with deps.pool.acquire() as conn:
        rows = await library_store.registrations(conn, req.state, req.limit + 1, req.offset)
    shown, next_offset = page(rows, req.limit, req.offset)
    return RegistrationList(registrations=shown, next_offset=next_offset)


async def _clerk_action(
    deps: Deps, req: RegistrationActionRequest, ctx: RequestContext, action: str
) -> Registration:
    principal = require_role(ctx, "library_clerk")
    operation = f"cart.{action}_registration"
    async with deps.pool.acquire() as conn, conn.transaction():
        cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
        if cached is not None:
            return msgspec.json.decode(cached, type=Registration)
        found = await library_store.registration(conn, req.line_id)
        if found is None:
            raise NotFound("no such registration", field="line_id")
        # The order before the registration, in the order the worker and refunds lock them.
        await store.order(conn, found["order_id"], lock=True)
        reg = await library_store.registration(conn, req.line_id, lock=True)
        assert reg is not None  # registrations are never deleted
        if reg["state"] not in ("registration_failed", "expired"):
            raise Conflict(f"this registration is {reg['state']}", field="line_id")
        if action == "retry":
            await library_store.set_registration(
                conn,
                req.line_id,
                state="pending",
                next_attempt_at=datetime.now(UTC),
                reset_attempts=True,
            )
        else:
            await library_store.set_registration(conn, req.line_id, state="resolved_by_hand")
            line = await store.order_line(conn, req.line_id, lock=True)
            if line is not None:
                await fulfilment.fulfil_line(conn, line)
        await library_store.log(conn, req.line_id, action, req.note, actor=principal.subject)
        reply = await library_store.registration_view(conn, req.line_id)
        await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
        return reply


async def retry(deps: Deps, req: RegistrationActionRequest, ctx: RequestContext) -> Registration:
    return await _clerk_action(deps, req, ctx, "retry")


async def resolve(deps: Deps, req: RegistrationActionRequest, ctx: RequestContext) -> Registration:
    return await _clerk_action(deps, req, ctx, "resolve")


async def registration_log(
    deps: Deps, req: RegistrationLogRequest, ctx: RequestContext
) -> RegistrationLog:
    require_role(ctx, "library_clerk")
    async with deps.pool.acquire() as conn:
        return RegistrationLog(entries=await library_store.log_entries(conn, req.line_id))
