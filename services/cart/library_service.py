"""Library use cases: link a card, list debits, record payments (worker), clerk operations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import asyncpg
import msgspec

from services.cart import fulfilment, library_store, store
from services.cart.access import require_role, resident
from services.cart.carts import patron_or_refuse, read_debits
from services.cart.deps import Deps
from services.cart.domain import model
from services.cart.domain.library import check_library_first, next_attempt, non_payable_reason
from services.cart.library.base import CardRejected, LibraryError
from services.cart.views import page
from shared import idempotency
from shared.contracts.cart import (
    LibraryCard,
    LibraryDebit,
    LibraryDebits,
    LibraryDebitsRequest,
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
CLAIM_S = 60.0


async def link_card(deps: Deps, req: LinkLibraryCardRequest, ctx: RequestContext) -> LibraryCard:
    principal = resident(ctx)
    card = req.card_number.strip()
    if not card.isalnum() or not 4 <= len(card) <= 32:
        raise ValidationFailed("check the library card number", field="card_number")
    try:
        patron = await deps.library.patron_for_card(card, req.pin)
    except CardRejected:
        raise Forbidden("the card number or PIN is wrong", field="pin") from None
    except LibraryError as exc:
        raise Unavailable("the library system does not answer; try again soon") from exc
    async with deps.pool.acquire() as conn:
        linked_at = await library_store.link_card(conn, principal.subject, patron, card[-4:])
    return LibraryCard(card_last4=card[-4:], linked_at=linked_at)


async def debits(deps: Deps, _: LibraryDebitsRequest, ctx: RequestContext) -> LibraryDebits:
    principal = resident(ctx)
    async with deps.pool.acquire() as conn:
        patron = await patron_or_refuse(conn, principal.subject)
    outstanding = await read_debits(deps, patron)
    items = []
    for d in outstanding.values():
        reason = non_payable_reason(d.debit_type, deps.settings.non_payable_types)
        items.append(
            LibraryDebit(
                account_line_id=d.account_line_id,
                debit_type=d.debit_type,
                description=d.description,
                amount_outstanding_cents=d.amount_outstanding_cents,
                payable=not reason,
                reason=reason,
            )
        )
    return LibraryDebits(
        debits=items,
        payable_total_cents=sum(d.amount_outstanding_cents for d in items if d.payable),
        minimum_payable_cents=deps.settings.library_minimum_payable_cents,
    )


# --- recording payments in the library system ---------------------------------------------


async def _settled_already(deps: Deps, reg: asyncpg.Record) -> bool:
    """After an attempt with an unknown outcome: are the debits no longer outstanding?"""
    outstanding = await deps.library.outstanding_debits(reg["patron_id"])
    ids = {d.account_line_id for d in outstanding}
    return not any(i in ids for i in reg["account_line_ids"])


async def record_one(deps: Deps, reg: asyncpg.Record) -> None:
    line_id = reg["line_id"]
    note = f"Turku city cart, order {reg['order_number']}"
    credit_id: str | None = None
    posted = False
    error: str | None = None
    try:
        if check_library_first(reg["attempts"], reg["last_error"]) and await _settled_already(
            deps, reg
        ):
            credit_id = "already-settled"
        else:
            credit_id = await deps.library.record_payment(
                reg["patron_id"], list(reg["account_line_ids"]), reg["amount_cents"], note
            )
            posted = True
    except LibraryError as exc:
        error = str(exc)
    except Exception as exc:  # an adapter bug: counted as a failed attempt, retried with back-off
        log.exception("library adapter failed on line %s", line_id)
        error = f"unexpected {type(exc).__name__} from the library adapter"
    async with deps.pool.acquire() as conn, conn.transaction():
        current = await library_store.registration(conn, line_id, lock=True)
        if current is None:
            return
        if posted and (
            current["state"] == "cancelled" or current["amount_cents"] != reg["amount_cents"]
        ):
            # A refund was asked while this post was on its way: the library got more than
            # the city keeps. Visible to clerks in the log; the credit is reversed by hand.
            detail = f"credit {credit_id} of {reg['amount_cents']} cents posted during a refund"
            await library_store.log(conn, line_id, "credited_during_refund", detail)
            log.error("library line %s: %s", line_id, detail)
            if current["state"] == "cancelled":  # shown in the clerks' `cancelled` list
                await library_store.set_registration(
                    conn,
                    line_id,
                    state="cancelled",
                    last_error=f"{detail}: reverse it in the library system",
                    credit_id=credit_id,
                )
        if current["state"] != "pending":
            return
        if credit_id is not None:
            await library_store.set_registration(
                conn, line_id, state="recorded", credit_id=credit_id
            )
            await library_store.log(conn, line_id, "recorded", f"credit {credit_id}")
            line = await store.order_line(conn, line_id, lock=True)
            if line is not None:
                await fulfilment.fulfil_line(conn, line)
            return
        retry_at = next_attempt(current["attempts"], deps.settings.retry_delays, datetime.now(UTC))
        if retry_at is None:
            await library_store.set_registration(
                conn, line_id, state="registration_failed", last_error=error
            )
            await library_store.log(conn, line_id, "registration_failed", error or "")
            line = await store.order_line(conn, line_id, lock=True)
            if line is not None and model.line_can(line["state"], "registration_failed"):
                await store.set_line_state(conn, line_id, "registration_failed")
            log.error("library registration of line %s failed for good", line_id)
        else:
            await library_store.set_registration(
                conn, line_id, state="pending", next_attempt_at=retry_at, last_error=error
            )
            await library_store.log(conn, line_id, "attempt_failed", error or "")


async def record_due(deps: Deps, limit: int = 20) -> int:
    async with deps.pool.acquire() as conn, conn.transaction():
        claimed = await library_store.claim_due(conn, limit, CLAIM_S)
        expired = await library_store.expire_failed(conn, deps.settings.library_failed_expire_hours)
        for line_id in expired:
            await library_store.log(conn, line_id, "expired", "moved to the report")
    for reg in claimed:
        try:
            await record_one(deps, reg)
        except Exception:  # one line's surprise must not hold up the others
            # Its claim runs out and it is tried again (Koha asked first: attempts > 1).
            log.exception("library worker: recording line %s failed", reg["line_id"])
    return len(claimed)


async def worker(deps: Deps, stop: asyncio.Event) -> None:
    """Record due payments until stopped; any failure is logged and the loop goes on."""
    while not stop.is_set():
        try:
            await record_due(deps)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("library worker: %s; retrying", type(exc).__name__)
        except Exception:
            log.exception("library worker: unexpected failure; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=deps.settings.library_poll_interval_s)


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
        reg = await library_store.registration(conn, req.line_id, lock=True)
        if reg is None:
            raise NotFound("no such registration", field="line_id")
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
