"""Recording paid library lines in the library system (the worker), exactly once.

Before each post the patron's account is read again: Koha applies whatever is left of a
credit to the patron's OTHER debits, so only what the chosen debits still owe is credited,
and what was paid or reduced at the library's desk since checkout goes back to the resident
through the cart's refund path (reason `unfulfillable`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from services.cart import fulfilment, library_pins, library_store, store
from services.cart.deps import Deps
from services.cart.domain import model
from services.cart.domain.library import Settlement, check_library_first, next_attempt, settle
from services.cart.library.base import LibraryError, LibraryMisconfigured

log = logging.getLogger(__name__)
CLAIM_S = 60.0


async def _still_owed(deps: Deps, reg: asyncpg.Record) -> tuple[int, str | None]:
    """What the registration's debits still owe in the library, and the branch they are of."""
    wanted = set(reg["account_line_ids"])
    owed = [
        d
        for d in await deps.library.outstanding_debits(reg["patron_id"])
        if d.account_line_id in wanted
    ]
    branch = next((d.library_id for d in owed if d.library_id), None)
    return sum(d.amount_outstanding_cents for d in owed), branch


async def _ask_library(deps: Deps, reg: asyncpg.Record) -> tuple[Settlement, str | None]:
    """Read the account, then post the credit it calls for; (settlement, credit id)."""
    owed, branch = await _still_owed(deps, reg)
    outcome = settle(
        reg["amount_cents"], owed, check_library_first(reg["attempts"], reg["last_error"])
    )
    if outcome.credit_cents <= 0:
        return outcome, ("already-settled" if outcome.settled_by_us else None)
    credit_id = await deps.library.record_payment(
        reg["patron_id"],
        list(reg["account_line_ids"]),
        outcome.credit_cents,
        f"Turku city cart, order {reg['order_number']}",
        library_id=branch,
    )
    return outcome, credit_id


async def record_one(deps: Deps, reg: asyncpg.Record) -> None:
    line_id = reg["line_id"]
    outcome: Settlement | None = None
    credit_id: str | None = None
    error: str | None = None
    try:
        outcome, credit_id = await _ask_library(deps, reg)
    except LibraryError as exc:
        error = str(exc)
        if isinstance(exc, LibraryMisconfigured):
            log.error("library line %s: the library refused the cart: %s", line_id, exc)
    except Exception as exc:  # an adapter bug: counted as a failed attempt, retried with back-off
        log.exception("library adapter failed on line %s", line_id)
        error = f"unexpected {type(exc).__name__} from the library adapter"
    posted = outcome is not None and outcome.credit_cents > 0
    async with deps.pool.acquire() as conn, conn.transaction():
        # The order first, as a refund locks it before the registration.
        order = await store.order(conn, reg["order_id"], lock=True)
        current = await library_store.registration(conn, line_id, lock=True)
        if order is None or current is None:
            return
        if posted:
            await _flag_credit_during_refund(conn, reg, current, outcome, credit_id)
        if current["state"] != "pending":
            return
        if outcome is None:
            await _failed_attempt(conn, deps, current, error)
        elif current["amount_cents"] != reg["amount_cents"] and not posted:
            # A refund changed what is kept while the account was read: read it again.
            await library_store.set_registration(
                conn, line_id, state="pending", next_attempt_at=datetime.now(UTC)
            )
        else:
            await _settled(conn, order, current, outcome, credit_id)


async def _flag_credit_during_refund(
    conn: asyncpg.Connection,
    reg: asyncpg.Record,
    current: asyncpg.Record,
    outcome: Settlement,
    credit_id: str | None,
) -> None:
    if current["state"] != "cancelled" and current["amount_cents"] == reg["amount_cents"]:
        return
    # A refund was asked while this post was on its way: the library got more than the city
    # keeps. Visible to clerks in the log; the credit is reversed by hand.
    line_id = reg["line_id"]
    detail = f"credit {credit_id} of {outcome.credit_cents} cents posted during a refund"
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


async def _settled(
    conn: asyncpg.Connection,
    order: asyncpg.Record,
    reg: asyncpg.Record,
    outcome: Settlement,
    credit_id: str | None,
) -> None:
    """The library answered: record, refund what the desk took meanwhile, or ask a clerk."""
    line_id = reg["line_id"]
    line = await store.order_line(conn, line_id, lock=True)
    if line is None:
        return
    if outcome.needs_clerk:
        why = (
            "the debit was reduced in the library after an attempt whose outcome is unknown: "
            f"check whether order {reg['order_number']} was credited, then resolve or refund"
        )
        await _give_up(conn, reg, why)
        return
    if outcome.refund_cents > 0:
        paid = reg["amount_cents"]
        detail = (
            f"{outcome.refund_cents} of {paid} cents were paid in the library since checkout; "
            "refunded to the resident"
        )
        await library_store.log(conn, line_id, "paid_in_library", detail)
        await fulfilment.request_refund(
            conn,
            order,
            [(line, outcome.refund_cents)],
            "unfulfillable",
            note="paid at the library before the online payment was recorded",
        )  # lowers the registration to what is credited (nothing credited: cancelled)
        line = await store.order_line(conn, line_id, lock=True)
    if credit_id is None or line is None:
        return
    await library_store.set_registration(conn, line_id, state="recorded", credit_id=credit_id)
    step = f"credit {credit_id}" if outcome.credit_cents else "settled in the library already"
    await library_store.log(conn, line_id, "recorded", step)
    await fulfilment.fulfil_line(conn, line)


async def _failed_attempt(
    conn: asyncpg.Connection, deps: Deps, reg: asyncpg.Record, error: str | None
) -> None:
    retry_at = next_attempt(reg["attempts"], deps.settings.retry_delays, datetime.now(UTC))
    if retry_at is None:
        await _give_up(conn, reg, error or "")
        return
    await library_store.set_registration(
        conn, reg["line_id"], state="pending", next_attempt_at=retry_at, last_error=error
    )
    await library_store.log(conn, reg["line_id"], "attempt_failed", error or "")


async def _give_up(conn: asyncpg.Connection, reg: asyncpg.Record, why: str) -> None:
    """To the library clerks' list of failed registrations."""
    line_id = reg["line_id"]
    await library_store.set_registration(conn, line_id, state="registration_failed", last_error=why)
    await library_store.log(conn, line_id, "registration_failed", why)
    line = await store.order_line(conn, line_id, lock=True)
    if line is not None and model.line_can(line["state"], "registration_failed"):
        await store.set_line_state(conn, line_id, "registration_failed")
    log.error("library registration of line %s failed for good", line_id)


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


async def work(deps: Deps) -> None:
    """One round of the library worker: record the due payments, forget old PIN attempts."""
    await record_due(deps)
    await library_pins.purge(deps)
