"""Recording paid library lines in the library system (the worker), exactly once.

Before each post the patron's account is read again: Koha applies whatever is left of a
credit to the patron's OTHER debits, so only what the chosen debits still owe is credited,
and what was paid or reduced at the library's desk since checkout goes back to the resident
through the cart's refund path (reason `unfulfillable`). The library is asked with no
transaction open; what it answered is then written under the order's lock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from services.cart.domain import model
from services.cart.domain.library import (
    LibraryRegistration,
    Settlement,
    check_library_first,
    next_attempt,
    settle,
)
from services.cart.domain.model import Order, OrderLine
from services.cart.library import store
from services.cart.library.base import LibraryError, LibraryMisconfigured, LibrarySystem
from services.cart.orders import settling
from services.cart.orders import store as orders
from services.cart.orders.fulfilment import Fulfilment
from services.cart.settings import CartSettings
from shared.contracts.cart import LibraryPaymentRecorded
from shared.events import add_event

log = logging.getLogger(__name__)


class LibraryRecording:
    def __init__(
        self,
        pool: asyncpg.Pool,
        system: LibrarySystem,
        settings: CartSettings,
        fulfilment: Fulfilment,
    ) -> None:
        self.pool = pool
        self.system = system
        self.settings = settings
        self.fulfilment = fulfilment

    async def record_due(self, limit: int = 20) -> int:
        """Claim the due registrations and record each; returns how many were claimed."""
        async with self.pool.acquire() as conn, conn.transaction():
            claimed = await store.claim_due(conn, limit, self.settings.library_claim_s)
            expired = await store.expire_failed(conn, self.settings.library_failed_expire_hours)
            for line_id in expired:
                await store.log(conn, line_id, "expired", "moved to the report")
        for reg in claimed:
            try:
                await self.record_one(reg)
            except Exception:  # one line's surprise must not hold up the others
                # Its claim runs out and it is tried again (the library asked first).
                log.exception("library worker: recording line %s failed", reg.line_id)
        return len(claimed)

    async def record_one(self, reg: LibraryRegistration) -> None:
        """Record one claimed line, holding its lock from the account read until what the
        library answered is written. The claim (`claimed_until`) runs out after a time; a
        worker paused past it (a stopped process, a long GC) would otherwise post its credit
        after another worker had read the account and posted the same: the lock is tied to
        this worker's database session, so it lasts while the worker lives, however slow,
        and goes when it dies. A line another worker still holds is passed over."""
        async with self.pool.acquire() as guard:
            if not await store.lock_for_recording(guard, reg.line_id):
                log.info("library line %s: another worker is recording it", reg.line_id)
                return
            try:
                current = await store.registration(guard, reg.line_id)
                if current is not None and current.state == "pending":
                    await self._record(current)
            finally:
                try:
                    await store.unlock_for_recording(guard, reg.line_id)
                except BaseException:
                    guard.terminate()  # never back to the pool with the lock still held
                    raise

    async def _record(self, reg: LibraryRegistration) -> None:
        outcome: Settlement | None = None
        credit_id: str | None = None
        error: str | None = None
        try:
            outcome, credit_id = await self._ask_library(reg)
        except LibraryError as exc:
            error = str(exc)
            if isinstance(exc, LibraryMisconfigured):
                log.error("library line %s: the library refused the cart: %s", reg.line_id, exc)
        except Exception as exc:  # an adapter bug: a failed attempt, retried with back-off
            log.exception("library adapter failed on line %s", reg.line_id)
            error = f"unexpected {type(exc).__name__} from the library adapter"
        async with self.pool.acquire() as conn, conn.transaction():
            await self._write(conn, reg, outcome, credit_id, error)

    async def _write(
        self,
        conn: asyncpg.Connection,
        reg: LibraryRegistration,
        outcome: Settlement | None,
        credit_id: str | None,
        error: str | None,
    ) -> None:
        """What the library answered, under the order's lock (a refund locks it first too)."""
        posted = outcome is not None and outcome.credit_cents > 0
        order = await orders.order(conn, reg.order_id, lock=True)
        current = await store.registration(conn, reg.line_id, lock=True)
        if order is None or current is None:
            return
        if posted:
            assert outcome is not None
            await _flag_credit_during_refund(conn, reg, current, outcome, credit_id)
        if current.state != "pending":
            return
        if outcome is None:
            await self._failed_attempt(conn, current, error)
        elif current.amount_cents != reg.amount_cents and not posted:
            # A refund changed what is kept while the account was read: read it again.
            await store.set_registration(
                conn, reg.line_id, state="pending", next_attempt_at=datetime.now(UTC)
            )
        else:
            await self._settled(conn, order, current, outcome, credit_id)

    async def _still_owed(self, reg: LibraryRegistration) -> tuple[int, str | None]:
        """What the registration's debits still owe in the library, and their branch."""
        wanted = set(reg.account_line_ids)
        owed = [
            d
            for d in await self.system.outstanding_debits(reg.patron_id)
            if d.account_line_id in wanted
        ]
        branch = next((d.library_id for d in owed if d.library_id), None)
        return sum(d.amount_outstanding_cents for d in owed), branch

    async def _ask_library(self, reg: LibraryRegistration) -> tuple[Settlement, str | None]:
        """Read the account, then post the credit it calls for; (settlement, credit id)."""
        owed, branch = await self._still_owed(reg)
        outcome = settle(reg.amount_cents, owed, check_library_first(reg.attempts, reg.last_error))
        if outcome.credit_cents <= 0:
            return outcome, ("already-settled" if outcome.settled_by_us else None)
        credit_id = await self.system.record_payment(
            reg.patron_id,
            list(reg.account_line_ids),
            outcome.credit_cents,
            f"Turku city cart, order {reg.order_number}",
            library_id=branch,
        )
        return outcome, credit_id

    async def _settled(
        self,
        conn: asyncpg.Connection,
        order: Order,
        reg: LibraryRegistration,
        outcome: Settlement,
        credit_id: str | None,
    ) -> None:
        """The library answered: record, refund what the desk took meanwhile, or ask a clerk."""
        line = await orders.order_line(conn, reg.line_id, lock=True)
        if line is None:
            return
        if outcome.needs_clerk:
            why = (
                "the debit was reduced in the library after an attempt whose outcome is "
                f"unknown: check whether order {reg.order_number} was credited, then resolve "
                "or refund"
            )
            await _give_up(conn, reg, why)
            return
        if outcome.refund_cents > 0:
            line = await self._refund_paid_at_desk(conn, order, line, reg, outcome.refund_cents)
        if credit_id is None or line is None:
            return
        await store.set_registration(conn, reg.line_id, state="recorded", credit_id=credit_id)
        step = f"credit {credit_id}" if outcome.credit_cents else "settled in the library already"
        await store.log(conn, reg.line_id, "recorded", step)
        await add_event(
            conn,
            LibraryPaymentRecorded(
                order_id=order.id,
                order_number=order.order_number,
                customer=order.customer,
                line_id=line.id,
                merchant_id=line.merchant_id,
                description=line.snapshot.description,
                amount_cents=max(reg.amount_cents - outcome.refund_cents, 0),
            ),
        )
        await settling.fulfil_line(conn, line)

    async def _refund_paid_at_desk(
        self,
        conn: asyncpg.Connection,
        order: Order,
        line: OrderLine,
        reg: LibraryRegistration,
        refund_cents: int,
    ) -> OrderLine | None:
        """What the library's desk took since checkout goes back to the resident; the
        registration is lowered to what is credited (nothing credited: cancelled)."""
        detail = (
            f"{refund_cents} of {reg.amount_cents} cents were paid in the library since "
            "checkout; refunded to the resident"
        )
        await store.log(conn, reg.line_id, "paid_in_library", detail)
        await self.fulfilment.request_refund(
            conn,
            order,
            [(line, refund_cents)],
            "unfulfillable",
            note="paid at the library before the online payment was recorded",
        )
        return await orders.order_line(conn, reg.line_id, lock=True)

    async def _failed_attempt(
        self, conn: asyncpg.Connection, reg: LibraryRegistration, error: str | None
    ) -> None:
        retry_at = next_attempt(reg.attempts, self.settings.retry_delays, datetime.now(UTC))
        if retry_at is None:
            await _give_up(conn, reg, error or "")
            return
        await store.set_registration(
            conn, reg.line_id, state="pending", next_attempt_at=retry_at, last_error=error
        )
        await store.log(conn, reg.line_id, "attempt_failed", error or "")


async def _flag_credit_during_refund(
    conn: asyncpg.Connection,
    reg: LibraryRegistration,
    current: LibraryRegistration,
    outcome: Settlement,
    credit_id: str | None,
) -> None:
    if current.state != "cancelled" and current.amount_cents == reg.amount_cents:
        return
    # A refund was asked while this post was on its way: the library got more than the city
    # keeps. Visible to clerks in the log; the credit is reversed by hand.
    detail = f"credit {credit_id} of {outcome.credit_cents} cents posted during a refund"
    await store.log(conn, reg.line_id, "credited_during_refund", detail)
    log.error("library line %s: %s", reg.line_id, detail)
    if current.state == "cancelled":  # shown in the clerks' `cancelled` list
        await store.set_registration(
            conn,
            reg.line_id,
            state="cancelled",
            last_error=f"{detail}: reverse it in the library system",
            credit_id=credit_id,
        )


async def _give_up(conn: asyncpg.Connection, reg: LibraryRegistration, why: str) -> None:
    """To the library clerks' list of failed registrations."""
    await store.set_registration(conn, reg.line_id, state="registration_failed", last_error=why)
    await store.log(conn, reg.line_id, "registration_failed", why)
    line = await orders.order_line(conn, reg.line_id, lock=True)
    if line is not None and model.line_can(line.state, "registration_failed"):
        await orders.set_line_state(conn, reg.line_id, "registration_failed")
    log.error("library registration of line %s failed for good", reg.line_id)
