"""Refunds: from cart's `refund.requested` events, from staff, and of duplicate payments.

A refund is written (`pending`, with its exact VAT split) and committed before the provider is
asked, with the refund request id as the provider's idempotency key; the ledger and the event
follow once the provider has refunded. A crash in between leaves a pending row that a retry
(redelivery, the staff's repeat, the background loop) completes with the same key.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec

from services.payment import ledger_store, refund_store, store
from services.payment.access import may_see, require_refunder, signed_in
from services.payment.domain.ledger import check_refund, refund_entries, refund_splits
from services.payment.providers.base import (
    Provider,
    ProviderError,
    ProviderRejected,
    RefundResult,
    WebhookNews,
)
from shared import idempotency
from shared.access import acts_for_department
from shared.contracts.cart import RefundLine, RefundRequested
from shared.contracts.common import RequestContext
from shared.contracts.payment import (
    PaymentRefunded,
    PaymentRefundFailed,
    RefundRequest,
    RefundView,
)
from shared.errors import Conflict, NotFound, PaymentFailed, Unavailable, ValidationFailed
from shared.events import PermanentFailure, add_event

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6f1d7a51-3f0e-4a55-9d53-7475726b7530")
DUPLICATE = "duplicate_payment"


def _refund_details(row: asyncpg.Record, result: RefundResult) -> dict[str, object]:
    return {
        "refund_id": str(row["id"]),
        "refund_ref": result.provider_ref or row["provider_ref"],
        "amount_cents": row["amount_cents"],
        "failure": result.failure,
        "reason": row["reason"],
    }


def _transient(exc: ProviderRejected) -> bool:
    """Answers that say "not now" rather than "no": the refund stays pending."""
    return exc.status in (409, 429) or exc.status >= 500 or exc.status == 0


@dataclass
class Refunds:
    pool: asyncpg.Pool
    providers: dict[str, Provider]
    # A refund the provider has not confirmed this long after it was asked for (its answer and
    # every callback lost) goes to finance as an anomaly: never pending in silence.
    unconfirmed_after_s: float = 3 * 86400.0

    async def refund(
        self,
        *,
        order_id: uuid.UUID,
        refund_request_id: uuid.UUID,
        lines: list[RefundLine],
        reason: str,
        note: str,
        actor: str,
    ) -> RefundView:
        """Refund once per request id: write it, then have the provider pay it back."""
        row = await self._prepare(order_id, refund_request_id, lines, reason, note, actor)
        return await self.complete(row)

    async def _prepare(
        self,
        order_id: uuid.UUID,
        refund_request_id: uuid.UUID,
        lines: list[RefundLine],
        reason: str,
        note: str,
        actor: str,
    ) -> asyncpg.Record:
        async with self.pool.acquire() as conn, conn.transaction():
            payment = await store.paid_payment_of_order(conn, order_id)  # locks: one at a time
            existing = await refund_store.refund_by_request(conn, refund_request_id)
            if existing is not None:
                if existing["order_id"] != order_id:
                    raise Conflict("this refund request id belongs to another order")
                return existing
            if payment is None:
                raise NotFound("this order has no successful payment to refund", field="order_id")
            paid_lines = store.lines_of(payment)
            already = await refund_store.refund_splits_by_line(conn, payment["id"])
            total = check_refund(paid_lines, {k: v.gross_cents for k, v in already.items()}, lines)
            return await refund_store.insert_refund(
                conn,
                id=uuid.uuid4(),
                payment_id=payment["id"],
                refund_request_id=refund_request_id,
                amount_cents=total,
                lines=lines,
                splits=refund_splits(paid_lines, already, lines),
                reason=reason,
                note=note,
                actor=actor,
            )

    async def complete(self, row: asyncpg.Record) -> RefundView:
        """Ask the provider (no transaction open), then apply its word: `succeeded` books the
        ledger and announces it; `pending` waits for its webhook (or the background poll);
        `failed` goes to finance as an anomaly. A refund already asked is asked how it is."""
        if row["state"] == "failed":
            raise PaymentFailed(f"the provider refused the refund: {row['failure']}")
        if row["state"] == "succeeded":
            return refund_store.refund_view(row)
        async with self.pool.acquire() as conn:
            payment = await store.payment(conn, row["payment_id"])
        assert payment is not None  # a refund row references its payment
        provider = self.providers[payment["provider"]]
        try:
            if row["provider_ref"]:
                result = await provider.refund_status(row["provider_ref"])
            else:
                result = await provider.refund(
                    payment["provider_payment_ref"] or payment["provider_ref"],
                    row["amount_cents"],
                    idempotency_key=str(row["refund_request_id"]),
                    metadata={"refund_id": str(row["id"]), "payment_id": str(payment["id"])},
                )
        except ProviderRejected as exc:
            if _transient(exc):
                raise Unavailable(f"the payment provider says not now ({exc.status})") from None
            result = RefundResult(
                provider_ref="", status="failed", failure=f"{exc.code or exc.status}: {exc}"
            )
        except ProviderError as exc:
            raise Unavailable(
                f"the payment provider is unavailable ({type(exc).__name__})"
            ) from None
        async with self.pool.acquire() as conn, conn.transaction():
            locked = await refund_store.refund_by_id(conn, row["id"], lock=True)
            done = await self.settle(conn, locked, payment, result, f"refund:{row['id']}")
        if done["state"] == "failed":
            raise PaymentFailed(f"the provider refused the refund: {done['failure']}")
        return refund_store.refund_view(done)

    async def settle(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        payment: asyncpg.Record,
        result: RefundResult,
        event_id: str,
    ) -> asyncpg.Record:
        """The provider's word on a refund (`row` locked): the one place a refund moves.
        A word that comes again, or late, changes nothing."""
        if row["state"] == "succeeded" and result.status == "failed":
            # The money did not reach the payer after all (e.g. a closed card): finance acts.
            await store.record_anomaly(
                conn,
                payment["id"],
                payment["provider"],
                event_id,
                "refund_failed_after_success",
                _refund_details(row, result),
            )
            return row
        if row["state"] != "pending":
            return row
        if result.status == "pending":
            if row["created_at"] < datetime.now(UTC) - timedelta(seconds=self.unconfirmed_after_s):
                await store.record_anomaly(  # once: (provider, event id, kind) is unique
                    conn,
                    payment["id"],
                    payment["provider"],
                    f"refund-unconfirmed:{row['id']}",
                    "refund_unconfirmed",
                    _refund_details(row, result),
                )
            return await refund_store.note_provider(conn, row["id"], result.provider_ref, "pending")
        if result.status == "failed":
            await refund_store.fail_refund(conn, row["id"], result.failure or "failed")
            log.error("refund %s failed at %s", row["id"], payment["provider"])
            await store.record_anomaly(
                conn,
                payment["id"],
                payment["provider"],
                event_id,
                "refund_failed",
                _refund_details(row, result),
            )
            # Cart's lines asked back go back to where they were (a duplicate's refund gave
            # back no order line).
            await add_event(
                conn,
                PaymentRefundFailed(
                    payment_id=payment["id"],
                    order_id=payment["order_id"],
                    amount_cents=row["amount_cents"],
                    provider=payment["provider"],
                    season_id=payment["season_id"],
                    refund_id=row["id"],
                    refund_request_id=row["refund_request_id"],
                    lines=[]
                    if row["reason"] == DUPLICATE
                    else msgspec.convert(row["lines"], list[RefundLine]),
                    reason=row["reason"],
                    failure=result.failure or "failed",
                    duplicate_of=payment["duplicate_of"],
                ),
            )
            return await refund_store.refund_by_id(conn, row["id"])
        done = await refund_store.complete_refund(conn, row["id"], result.provider_ref)
        entries = refund_entries(
            store.lines_of(payment), refund_store.splits_of(done), payment["sale_date"]
        )
        await ledger_store.add_ledger(conn, payment["id"], row["id"], entries)
        lines = msgspec.convert(done["lines"], list[RefundLine])
        await add_event(
            conn,
            PaymentRefunded(
                payment_id=payment["id"],
                order_id=payment["order_id"],
                amount_cents=done["amount_cents"],
                provider=payment["provider"],
                season_id=payment["season_id"],
                refund_id=done["id"],
                refund_request_id=done["refund_request_id"],
                # A duplicate's refund gives back no order line: the order stays paid.
                lines=[] if done["reason"] == DUPLICATE else lines,
                reason=done["reason"],
                duplicate_of=payment["duplicate_of"],  # None: the order's own payment
            ),
        )
        return done

    async def on_provider_news(
        self, conn: asyncpg.Connection, payment: asyncpg.Record, news: WebhookNews
    ) -> tuple[str, list[asyncpg.Record]]:
        """A refund webhook (inside the webhook's transaction). Returns the outcome and the
        refunds to ask the provider about after the commit (news that names no refund)."""
        row = None
        if news.refund_id is not None:
            row = await refund_store.refund_by_id(conn, news.refund_id, lock=True)
        if row is None and news.refund_ref:
            row = await refund_store.refund_by_provider_ref(conn, news.refund_ref, lock=True)
        if row is None or row["payment_id"] != payment["id"]:
            if news.refund_ref is None:  # e.g. charge.refunded: ask about every open refund
                return "refund_poll", await refund_store.asked_refunds_of_payment(
                    conn, payment["id"]
                )
            log.warning("refund %s at %s is not one of ours", news.refund_ref, news.event_id)
            return "not_ours", []
        if news.refund_status is None or news.refund_ref is None:
            return "refund_poll", [row]
        result = RefundResult(news.refund_ref, news.refund_status, news.reason)
        done = await self.settle(conn, row, payment, result, news.event_id)
        return f"refund_{done['state']}", []

    async def poll(self, rows: list[asyncpg.Record]) -> None:
        """Ask the provider how these refunds are (after a commit; failures are retried by
        the background loop)."""
        for row in rows:
            try:
                await self.complete(row)
            except (Unavailable, PaymentFailed) as exc:
                log.warning("refund %s: %s", row["id"], exc.message)

    async def retry_pending(self, older_than_s: float = 60.0, recheck_s: float = 600.0) -> int:
        """Complete refunds left pending by a crash or an unavailable provider, and ask the
        provider about those it has not confirmed yet (a webhook that never came)."""
        async with self.pool.acquire() as conn:
            rows = await refund_store.pending_refunds(conn, older_than_s, recheck_s=recheck_s)
        await self.poll(list(rows))
        return len(rows)

    async def on_refund_requested(self, conn: asyncpg.Connection, event: RefundRequested) -> None:
        """`evt.cart.refund.requested` -> provider refund -> ledger -> `payment.refunded`.
        The refund commits on its own connections; the inbox (`conn`) only dedupes."""
        try:
            await self.refund(
                order_id=event.order_id,
                refund_request_id=event.refund_request_id,
                lines=event.lines,
                reason=event.reason,
                note=event.note,
                actor="system:cart",
            )
        except (ValidationFailed, NotFound, Conflict) as exc:
            # Refused before anything was asked of the provider: e.g. more than is left on a
            # line, when staff refunded part of it straight through payment before cart knew.
            # Cart is told as of a refund the provider refused, so that the lines it asked
            # for go back to where they were and show why (instead of waiting for ever).
            if not await self._tell_refused(conn, event, exc.message):
                raise PermanentFailure(f"refund {event.refund_request_id}: {exc.message}") from exc
        except PaymentFailed as exc:  # the provider refused: settle() announced it already
            raise PermanentFailure(f"refund {event.refund_request_id}: {exc.message}") from exc

    async def _tell_refused(
        self, conn: asyncpg.Connection, event: RefundRequested, why: str
    ) -> bool:
        """Announce cart's refund request as failed (in the event's inbox transaction): no
        refund was written and no money moved. False when the order has no payment to name."""
        payment = await store.latest_payment_of_order(conn, event.order_id)
        if payment is None:
            return False
        log.warning("refund request %s refused: %s", event.refund_request_id, why)
        await add_event(
            conn,
            PaymentRefundFailed(
                payment_id=payment["id"],
                order_id=event.order_id,
                amount_cents=sum(part.amount_cents for part in event.lines),
                provider=payment["provider"],
                season_id=payment["season_id"],
                # no refund row was written: an id of its own, the same for a redelivery
                refund_id=uuid.uuid5(NAMESPACE, f"refused|{event.refund_request_id}"),
                refund_request_id=event.refund_request_id,
                lines=list(event.lines),
                reason=event.reason,
                failure=f"refused: {why}",
                duplicate_of=payment["duplicate_of"],
            ),
        )
        return True

    async def staff_refund(self, req: RefundRequest, ctx: RequestContext) -> RefundView:
        if not req.reason.strip():
            raise ValidationFailed("a staff refund needs a reason", field="reason")
        async with self.pool.acquire() as conn:
            payment = await store.latest_payment_of_order(conn, req.order_id)
        if payment is None:
            raise NotFound("no payment for this order", field="order_id")
        by_id = {line.line_id: line.merchant_id for line in store.lines_of(payment)}
        caller = signed_in(ctx)
        if not may_see(caller, payment["customer"], set(by_id.values())) and not any(
            acts_for_department(caller, m, roles=None) for m in by_id.values()
        ):  # a clerk of an unrelated department: as if there were no payment
            raise NotFound("no payment for this order", field="order_id")
        principal = require_refunder(ctx, {by_id.get(part.line_id, "") for part in req.lines})
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(
                conn, "payment.refund", principal, req.idempotency_key, req
            )
        if cached is not None:
            return msgspec.json.decode(cached, type=RefundView)
        request_id = (
            uuid.uuid5(NAMESPACE, f"{principal.subject}|{req.idempotency_key}")
            if req.idempotency_key
            else uuid.uuid4()
        )
        view = await self.refund(
            order_id=req.order_id,
            refund_request_id=request_id,
            lines=req.lines,
            reason="staff",
            note=req.reason,
            actor=principal.subject,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            key = req.idempotency_key
            if await idempotency.lookup(conn, "payment.refund", principal, key, req) is None:
                await idempotency.remember(conn, "payment.refund", principal, key, req, view)
        return view
