"""Library use cases: link a card (behind the PIN lock-out), list debits, and the library
clerks' operations on registrations. Recording payments in the library is the worker's
(`recording.py`)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Literal

import asyncpg
import msgspec

from services.cart.access import require_role, resident
from services.cart.domain.library import (
    Debit,
    DebitHolder,
    card_digest,
    debit_order_details,
    non_payable_reason,
)
from services.cart.library import store
from services.cart.library.accounts import LibraryAccounts, patron_or_refuse
from services.cart.library.base import CardRejected, LibraryError, LibraryMisconfigured
from services.cart.library.pins import PinLockout, minutes
from services.cart.orders import settling
from services.cart.orders import store as orders
from services.cart.settings import CartSettings
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
ClerkAction = Literal["retry", "resolve"]


def debit_view(
    d: Debit, holder: DebitHolder | None, customer: str, non_payable_types: frozenset[str]
) -> LibraryDebit:
    """A debit with its state for the resident: payable, not payable (why), or in an order."""
    state: LibraryDebitState = "payable"
    reason = non_payable_reason(d.debit_type, non_payable_types)
    order_id = order_number = None
    if holder is not None:  # as add_library_debits would refuse it (409)
        shown = debit_order_details(holder, d.account_line_id, customer)
        order_id, order_number = shown.get("order_id"), shown.get("order_number")
        if holder.state == "awaiting_payment":
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


class Library:
    def __init__(
        self,
        pool: asyncpg.Pool,
        accounts: LibraryAccounts,
        pins: PinLockout,
        settings: CartSettings,
    ) -> None:
        self.pool = pool
        self.accounts = accounts
        self.pins = pins
        self.settings = settings

    async def link_card(self, req: LinkLibraryCardRequest, ctx: RequestContext) -> LibraryCard:
        principal = resident(ctx)
        card = req.card_number.strip()
        if not card.isalnum() or not 4 <= len(card) <= 32:
            raise ValidationFailed("check the library card number", field="card_number")
        if not req.pin or len(req.pin) > 64:
            raise ValidationFailed("enter the PIN of the card", field="pin")
        patron = await self._check_card(card, req.pin, ctx.client_address)
        async with self.pool.acquire() as conn:
            digest = card_digest(self.settings.library_card_key, card)
            linked_at = await store.link_card(conn, principal.subject, patron, card[-4:], digest)
        return LibraryCard(card_last4=card[-4:], linked_at=linked_at)

    async def _check_card(self, card: str, pin: str, address: str | None) -> str:
        """The patron of a card whose PIN the library accepts, behind the PIN lock-out."""
        attempt = await self.pins.admit(card, address)
        try:
            patron = await self.accounts.system.patron_for_card(card, pin)
        except CardRejected:
            locked = attempt.locked_for_s
            raise Forbidden(
                "the card number or PIN is wrong",
                field="pin",
                attempts_left=attempt.attempts_left,
                locked_for_minutes=minutes(locked) if locked else 0,
            ) from None
        except LibraryError as exc:
            await self.pins.not_checked(attempt)
            if isinstance(exc, LibraryMisconfigured):  # the operator's to fix (no card, no PIN)
                log.error("library card check: the library refused the cart: %s", exc)
            raise Unavailable(UNAVAILABLE) from exc
        await self.pins.succeeded(attempt)
        return patron

    async def debits(self, _: LibraryDebitsRequest, ctx: RequestContext) -> LibraryDebits:
        principal = resident(ctx)
        async with self.pool.acquire() as conn:
            patron = await patron_or_refuse(conn, principal.subject)
        outstanding = await self.accounts.outstanding(patron)
        async with self.pool.acquire() as conn:
            held = await store.debits_in_orders(conn, [str(i) for i in outstanding])
        types = self.settings.non_payable_types
        items = [
            debit_view(d, held.get(str(d.account_line_id)), principal.subject, types)
            for d in outstanding.values()
        ]
        return LibraryDebits(
            debits=items,
            payable_total_cents=sum(d.amount_outstanding_cents for d in items if d.payable),
            minimum_payable_cents=self.settings.library_minimum_payable_cents,
        )

    # --- library clerks ----------------------------------------------------------------------

    async def list_registrations(
        self, req: ListRegistrationsRequest, ctx: RequestContext
    ) -> RegistrationList:
        require_role(ctx, "library_clerk")
        async with self.pool.acquire() as conn:
            rows = await store.registrations(conn, req.state, req.limit + 1, req.offset)
        shown, next_offset = page(rows, req.limit, req.offset)
        return RegistrationList(registrations=shown, next_offset=next_offset)

    async def retry(self, req: RegistrationActionRequest, ctx: RequestContext) -> Registration:
        return await self._clerk_action(req, ctx, "retry")

    async def resolve(self, req: RegistrationActionRequest, ctx: RequestContext) -> Registration:
        return await self._clerk_action(req, ctx, "resolve")

    async def _clerk_action(
        self, req: RegistrationActionRequest, ctx: RequestContext, action: ClerkAction
    ) -> Registration:
        principal = require_role(ctx, "library_clerk")
        operation = f"cart.{action}_registration"
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=Registration)
            await _act(conn, req.line_id, action)
            await store.log(conn, req.line_id, action, req.note, actor=principal.subject)
            reply = await store.registration_view(conn, req.line_id)
            await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
            return reply

    async def registration_log(
        self, req: RegistrationLogRequest, ctx: RequestContext
    ) -> RegistrationLog:
        require_role(ctx, "library_clerk")
        async with self.pool.acquire() as conn:
            return RegistrationLog(entries=await store.log_entries(conn, req.line_id))


async def _act(conn: asyncpg.Connection, line_id: uuid.UUID, action: ClerkAction) -> None:
    """A clerk retries a failed registration, or says it was recorded by hand."""
    found = await store.registration(conn, line_id)
    if found is None:
        raise NotFound("no such registration", field="line_id")
    # The order before the registration, in the order the worker and refunds lock them.
    await orders.order(conn, found.order_id, lock=True)
    reg = await store.registration(conn, line_id, lock=True)
    assert reg is not None  # registrations are never deleted
    if reg.state not in ("registration_failed", "expired"):
        raise Conflict(f"this registration is {reg.state}", field="line_id")
    if action == "retry":
        await store.set_registration(
            conn, line_id, state="pending", next_attempt_at=datetime.now(UTC), reset_attempts=True
        )
        return
    await store.set_registration(conn, line_id, state="resolved_by_hand")
    line = await orders.order_line(conn, line_id, lock=True)
    if line is not None:
        await settling.fulfil_line(conn, line)
