"""The provider side of ending payments: cancelling there (never inside a transaction), taking
a payment the provider says was paid, the work that follows a commit, and the expiry sweeper."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from services.payment import store
from services.payment.domain import model
from services.payment.providers.base import CancelOutcome, Provider, ProviderError
from services.payment.refunds import Refunds
from services.payment.transitions import Applied, apply
from shared.errors import ServiceError, Unavailable

log = logging.getLogger(__name__)


@dataclass
class Closing:
    pool: asyncpg.Pool
    providers: dict[str, Provider]
    refunds: Refunds

    async def cancel(self, row: asyncpg.Record) -> CancelOutcome:
        """Cancel at the provider (one idempotency key per payment); remembers a closed one."""
        provider = self.providers.get(row["provider"])
        if provider is None:
            raise Unavailable(f"the provider {row['provider']} is not configured here")
        try:
            outcome = await provider.cancel(
                row["provider_ref"], idempotency_key=f"cancel-{row['id']}"
            )
        except ProviderError as exc:
            raise Unavailable(
                f"the payment provider is unavailable ({type(exc).__name__})"
            ) from None
        if outcome == "cancelled":
            async with self.pool.acquire() as conn:
                await store.mark_provider_closed(conn, row["id"])
        return outcome

    async def paid(self, row: asyncpg.Record) -> Applied:
        """The provider says it took the money (answering a cancel): as if its webhook came."""
        fee = await self.fee(self.providers[row["provider"]], row["provider_ref"])
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_order(conn, row["order_id"])
            locked = await store.payment(conn, row["id"], lock=True)
            applied = await apply(conn, locked, "provider_paid", fee)
        await self.follow_up(applied)
        return applied

    async def fee(self, provider: Provider, provider_ref: str) -> int | None:
        """The provider's fee of a paid payment; None (pending, fetched later) when unknown."""
        try:
            return await provider.fee_of(provider_ref)
        except ProviderError as exc:
            log.warning("fee of %s not known yet: %s", provider_ref, type(exc).__name__)
            return None

    async def follow_up(self, applied: Applied) -> None:
        """After the commit: close superseded payments at the provider, refund a duplicate.
        Failures are logged: the background loops and later attempts finish the work."""
        for row in applied.to_cancel:
            if not row["provider_ref"]:
                continue
            try:
                if await self.cancel(row) == "paid":
                    await self.paid(row)  # a duplicate: refunded in full
            except ServiceError as exc:
                log.warning("superseded payment %s not closed: %s", row["id"], exc.message)
        if applied.refund is not None:
            try:
                await self.refunds.complete(applied.refund)
            except ServiceError as exc:
                log.warning("duplicate refund %s pending: %s", applied.refund["id"], exc.message)

    async def sweep(self, lead: timedelta) -> int:
        """Open payments whose deadline is within `lead` (the sweep interval + the margin: their
        session would otherwise outlive the next sweep): cancel at the provider (no lock held
        meanwhile), then `expired`, or `succeeded` if it was paid."""
        async with self.pool.acquire() as conn:
            rows = await store.overdue_payments(conn, lead.total_seconds())
        for row in rows:
            outcome = "cancelled"
            if row["provider_ref"]:
                try:
                    outcome = await self.cancel(row)
                except Unavailable as exc:
                    log.warning("could not cancel payment %s: %s", row["id"], exc.message)
                    continue
            if outcome == "paid":
                await self.paid(row)
                continue
            async with self.pool.acquire() as conn, conn.transaction():
                await store.lock_order(conn, row["order_id"])
                locked = await store.payment(conn, row["id"], lock=True)
                assert locked is not None  # payments are never deleted
                if locked["state"] in model.OPEN_STATES:  # else a webhook came first
                    await apply(conn, locked, "window_closed")
        await self._close_declined(lead)
        return len(rows)

    async def _close_declined(self, lead: timedelta) -> None:
        """A declined Stripe PaymentIntent stays payable (and a cancel may not have gone
        through): close it when the window ends; one paid meanwhile is a late success, which
        cart keeps or refunds (or, if the order is paid, a duplicate refunded here)."""
        async with self.pool.acquire() as conn:
            rows = await store.overdue_unclosed_payments(conn, lead.total_seconds())
        for row in rows:
            try:
                if await self.cancel(row) == "paid":
                    await self.paid(row)
            except ServiceError as exc:
                log.warning("declined payment %s not closed: %s", row["id"], exc.message)
