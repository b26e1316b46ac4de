"""The local test provider: its own books of charges, a fee and daily payouts, and signed
webhooks sent through the same webhook path as a real provider's."""

from __future__ import annotations

import json
import secrets
import ssl
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar, Literal

import asyncpg
import httpx

from services.payment.providers.base import (
    CancelOutcome,
    Capabilities,
    Delivery,
    InvalidSignature,
    PaymentOrder,
    Payout,
    ProviderConnectionError,
    ProviderRejected,
    RefundResult,
    StartResult,
    WebhookAuth,
    WebhookNews,
)
from services.payment.providers.local_delivery import DeliveryPolicy, WebhookDeliveries
from services.payment.providers.signing import sign, verify
from services.payment.settings import PaymentSettings
from shared.contracts.payment import BalanceTransactionView, Decision
from shared.errors import ServiceError

Deliver = Callable[[bytes, str], Awaitable[None]]

SIGNATURE_HEADER = "X-Local-Signature"
EVENT_TYPES: dict[str, str] = {
    "pay": "charge.paid",
    "decline": "charge.declined",
    "abandon": "charge.abandoned",
}
STATES: dict[str, str] = {"pay": "paid", "decline": "declined", "abandon": "abandoned"}
KINDS = {"charge.paid": "succeeded", "charge.declined": "declined", "charge.abandoned": "abandoned"}
REFUND_EVENTS = {"refund.succeeded": "succeeded", "refund.failed": "failed"}
RefundMode = Literal["instant", "pending"]


class LocalProvider:
    name: ClassVar[str] = "local"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_refunds=True, min_amount_cents=1, methods=("test",), refunds_confirmed_later=True
    )
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth("header", SIGNATURE_HEADER)

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        secret: str,
        public_url: str | None,
        webhook_url: str | None,
        fee_bp: int = 140,
        fee_fixed_cents: int = 25,
        payout_delay_days: int = 1,
        deliver: Deliver | None = None,
        delivery: DeliveryPolicy | None = None,
    ) -> None:
        self.pool = pool
        self.secret = secret
        self.public_url = (public_url or "").rstrip("/")
        self.webhook_url = webhook_url
        self.fee_bp = fee_bp
        self.fee_fixed_cents = fee_fixed_cents
        self.payout_delay_days = payout_delay_days
        self.deliver = deliver  # used when no webhook URL is configured (tests)
        self.deliveries = WebhookDeliveries(pool, self._send, delivery or DeliveryPolicy())
        self._tls_context: ssl.SSLContext | None = None
        self._http: httpx.AsyncClient | None = None
        # "instant": refunds succeed when asked; "pending": they wait for `settle_refund`
        # (a tester's succeeded/failed), which sends a signed refund webhook, as Stripe does.
        self.refund_mode: RefundMode = "instant"

    @classmethod
    def from_settings(cls, settings: PaymentSettings, pool: asyncpg.Pool) -> LocalProvider:
        return cls(
            pool,
            secret=settings.local_webhook_secret,
            public_url=settings.public_url,
            webhook_url=settings.local_webhook_url,
            fee_bp=settings.local_fee_bp,
            fee_fixed_cents=settings.local_fee_fixed_cents,
            payout_delay_days=settings.local_payout_delay_days,
            delivery=DeliveryPolicy(
                backoff_s=settings.local_webhook_backoff_s,
                max_backoff_s=settings.local_webhook_max_backoff_s,
                give_up_after_s=settings.local_webhook_give_up_h * 3600,
            ),
        )

    def fee(self, amount_cents: int) -> int:
        return (amount_cents * self.fee_bp + 5000) // 10000 + self.fee_fixed_cents

    async def start(self, order: PaymentOrder, idempotency_key: str) -> StartResult:
        charge_id = await self.pool.fetchval(
            """INSERT INTO local_charges (id, payment_id, amount_cents, state, idempotency_key)
               VALUES ($1, $2, $3, 'open', $4)
               ON CONFLICT (idempotency_key) DO UPDATE SET state = local_charges.state
               RETURNING id""",
            f"lch_{secrets.token_hex(8)}",
            order.payment_id,
            order.amount_cents,
            idempotency_key,
        )
        return StartResult(
            provider_ref=charge_id,
            redirect_url=f"{self.public_url}/pay/local/{order.payment_id}",
        )

    async def decide(self, payment_id: uuid.UUID, decision: Decision) -> None:
        """The tester's choice on the checkout page -> a signed webhook."""
        async with self.pool.acquire() as conn, conn.transaction():
            charge = await conn.fetchrow(
                "SELECT * FROM local_charges WHERE payment_id = $1 FOR UPDATE", payment_id
            )
            if charge is None:
                raise ProviderRejected("no such local charge", status=404, code="no_charge")
            # A resident who pays just as the window closes: the money arrives after our cancel
            # (the paid-after-expiry path); the local provider lets the tester play that race.
            late_payment = decision == "pay" and charge["state"] == "cancelled"
            if charge["state"] not in ("open", STATES[decision]) and not late_payment:
                raise ProviderRejected(
                    f"the charge is already {charge['state']}", status=409, code="charge_closed"
                )
            fee = self.fee(charge["amount_cents"]) if decision == "pay" else 0
            if charge["state"] == "open" or late_payment:
                await conn.execute(
                    "UPDATE local_charges SET state = $2 WHERE id = $1",
                    charge["id"],
                    STATES[decision],
                )
                if decision == "pay":
                    await self._book(conn, "charge", charge["id"], charge["amount_cents"], fee)
            event_id = f"levt_{charge['id']}_{decision}"
            body = json.dumps(
                {
                    "id": event_id,
                    "type": EVENT_TYPES[decision],
                    "created": int(datetime.now(UTC).timestamp()),
                    "data": {
                        "charge": charge["id"],
                        "payment_id": str(payment_id),
                        "amount": charge["amount_cents"],
                        "currency": "EUR",
                        "fee": fee,
                    },
                },
                separators=(",", ":"),
            ).encode()
            await self.deliveries.record(conn, event_id, body)
        # The first attempt now; one not acknowledged is redelivered in the background.
        await self.deliveries.attempt(event_id)

    async def redeliver_due(self) -> int:
        return await self.deliveries.redeliver_due()

    def _tls(self) -> ssl.SSLContext:
        """One TLS context for every delivery: making one loads the CA bundle, which cost
        ~70 ms of CPU per webhook (bench-journey's profile of the payment process)."""
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    def _client(self) -> httpx.AsyncClient:
        """One HTTP client for every delivery, its connections kept: a client per webhook cost
        a new TCP connection and the client's set-up each time (bench-journey's profile)."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10, verify=self._tls())
        return self._http

    async def _send(self, body: bytes) -> int | None:
        """One signed copy of an event to the webhook endpoint; its HTTP status (None: no
        answer). Without a webhook URL it goes to the service's own webhook path."""
        signature = sign(body, self.secret)  # signed at each attempt: the signature has a time
        if not self.webhook_url:
            if self.deliver is None:
                raise ProviderConnectionError("no webhook URL and no local delivery configured")
            try:
                await self.deliver(body, signature)
            except ServiceError as exc:
                return exc.status
            return 200
        try:
            response = await self._client().post(
                self.webhook_url,
                content=body,
                headers={SIGNATURE_HEADER: signature, "Content-Type": "application/json"},
            )
        except httpx.HTTPError:
            return None  # a timeout or a connection error: delivered again later
        return response.status_code

    def parse_webhook(self, delivery: Delivery) -> WebhookNews:
        body = delivery.body
        verify(body, delivery.header(SIGNATURE_HEADER), self.secret)
        try:
            event = json.loads(body)
            if event["type"] in REFUND_EVENTS:
                return WebhookNews(
                    event_id=str(event["id"]),
                    event_type=str(event["type"]),
                    kind="refund",
                    provider_ref=str(event["data"]["charge"]),
                    payment_id=_uuid(event["data"].get("payment_id")),
                    refund_ref=str(event["data"]["refund"]),
                    refund_status=REFUND_EVENTS[event["type"]],  # type: ignore[arg-type]
                    amount_cents=_int(event["data"].get("amount")),
                    reason=event["data"].get("failure_reason"),
                )
            return WebhookNews(
                event_id=str(event["id"]),
                event_type=str(event["type"]),
                kind=KINDS.get(event["type"], "ignored"),  # type: ignore[arg-type]
                provider_ref=str(event["data"]["charge"]),
                fee_cents=int(event["data"].get("fee", 0)),
                payment_id=_uuid(event["data"].get("payment_id")),
                amount_cents=_int(event["data"].get("amount")),
                currency=event["data"].get("currency"),
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidSignature("the signed body is not a local provider event") from None

    async def refund(
        self,
        provider_ref: str,
        amount_cents: int,
        idempotency_key: str,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundResult:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", provider_ref)
            row = await conn.fetchrow(
                "SELECT * FROM local_refunds WHERE idempotency_key = $1", idempotency_key
            )
            if row is not None:
                if (row["charge_id"], row["amount_cents"]) != (provider_ref, amount_cents):
                    raise ProviderRejected(
                        "idempotency key reused with other parameters",
                        code="idempotency_error",
                    )
                return _refund_result(row)
            paid = await conn.fetchval(
                "SELECT amount_cents FROM local_charges WHERE id = $1 AND state = 'paid'",
                provider_ref,
            )
            refunded = await conn.fetchval(
                """SELECT coalesce(sum(amount_cents), 0) FROM local_refunds
                   WHERE charge_id = $1 AND state <> 'failed'""",
                provider_ref,
            )
            if paid is None or refunded + amount_cents > paid:
                raise ProviderRejected("refund exceeds the charge", code="amount_too_large")
            refund_id = f"lre_{secrets.token_hex(8)}"
            state = "succeeded" if self.refund_mode == "instant" else "pending"
            row = await conn.fetchrow(
                """INSERT INTO local_refunds (id, charge_id, amount_cents, idempotency_key, state)
                   VALUES ($1, $2, $3, $4, $5) RETURNING *""",
                refund_id,
                provider_ref,
                amount_cents,
                idempotency_key,
                state,
            )
            await self._book(conn, "refund", refund_id, -amount_cents, 0)
        return _refund_result(row)

    async def refund_status(self, refund_ref: str) -> RefundResult:
        row = await self.pool.fetchrow("SELECT * FROM local_refunds WHERE id = $1", refund_ref)
        if row is None:
            raise ProviderRejected("no such local refund", status=404, code="resource_missing")
        return _refund_result(row)

    async def settle_refund(self, refund_ref: str, outcome: Literal["succeeded", "failed"]) -> None:
        """The tester's word on a pending refund -> a signed `refund.<outcome>` webhook. A
        failed refund gives the money back to our balance (a `refund_failure` transaction)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """SELECT r.*, c.payment_id FROM local_refunds r
                   JOIN local_charges c ON c.id = r.charge_id WHERE r.id = $1
                   FOR UPDATE OF r""",
                refund_ref,
            )
            if row is None:
                raise ProviderRejected("no such local refund", status=404, code="resource_missing")
            if row["state"] == "pending":
                await conn.execute(
                    "UPDATE local_refunds SET state = $2 WHERE id = $1", refund_ref, outcome
                )
                if outcome == "failed":
                    await self._book(conn, "refund_failure", refund_ref, row["amount_cents"], 0)
            elif row["state"] != outcome:
                raise ProviderRejected(f"the refund is already {row['state']}", status=409)
            event_id = f"levt_{refund_ref}_{outcome}"
            body = json.dumps(
                {
                    "id": event_id,
                    "type": f"refund.{outcome}",
                    "created": int(datetime.now(UTC).timestamp()),
                    "data": {
                        "refund": refund_ref,
                        "charge": row["charge_id"],
                        "payment_id": str(row["payment_id"]),
                        "amount": row["amount_cents"],
                        "failure_reason": "declined" if outcome == "failed" else None,
                    },
                },
                separators=(",", ":"),
            ).encode()
            await self.deliveries.record(conn, event_id, body)
        # The first attempt now; one not acknowledged is redelivered in the background.
        await self.deliveries.attempt(event_id)

    async def fee_of(self, provider_ref: str) -> int | None:
        return None  # the local webhook carries its fee

    async def cancel(self, provider_ref: str, idempotency_key: str) -> CancelOutcome:
        state = await self.pool.fetchval(
            """WITH closed AS (
                   UPDATE local_charges SET state = 'cancelled' WHERE id = $1 AND state = 'open'
                   RETURNING state)
               SELECT coalesce((SELECT state FROM closed),
                               (SELECT state FROM local_charges WHERE id = $1))""",
            provider_ref,
        )
        if state is None:
            raise ProviderRejected("no such local charge", status=404, code="no_charge")
        return "paid" if state == "paid" else "cancelled"

    async def _book(
        self, conn: asyncpg.Connection, kind: str, source: str, amount: int, fee: int
    ) -> None:
        await conn.execute(
            """INSERT INTO local_balance_transactions
                   (id, type, source, amount_cents, fee_cents, net_cents)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            f"ltxn_{secrets.token_hex(8)}",
            kind,
            source,
            amount,
            fee,
            amount - fee,
        )

    async def pay_out(self, today: date | None = None) -> None:
        """Daily payouts: every finished day's unpaid transactions become one payout."""
        today = today or datetime.now(UTC).date()
        last = today - timedelta(days=self.payout_delay_days)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE local_payouts IN EXCLUSIVE MODE")
            days = await conn.fetch(
                """SELECT (created AT TIME ZONE 'UTC')::date AS day, sum(net_cents) AS amount
                   FROM local_balance_transactions
                   WHERE payout_id IS NULL AND (created AT TIME ZONE 'UTC')::date <= $1
                   GROUP BY 1 ORDER BY 1""",
                last,
            )
            for row in days:
                payout_id = f"lpo_{row['day']:%Y%m%d}_{secrets.token_hex(3)}"
                await conn.execute(
                    """INSERT INTO local_payouts (id, day, amount_cents, arrival_date)
                       VALUES ($1, $2, $3, $4)
                       ON CONFLICT (day) DO UPDATE
                       SET amount_cents = local_payouts.amount_cents + EXCLUDED.amount_cents""",
                    payout_id,
                    row["day"],
                    row["amount"],
                    row["day"] + timedelta(days=1),
                )
                await conn.execute(
                    """UPDATE local_balance_transactions
                       SET payout_id = (SELECT id FROM local_payouts WHERE day = $1)
                       WHERE payout_id IS NULL AND (created AT TIME ZONE 'UTC')::date = $1""",
                    row["day"],
                )

    async def balance_transactions(
        self, start: datetime, end: datetime
    ) -> list[BalanceTransactionView]:
        await self.pay_out()
        rows = await self.pool.fetch(
            """SELECT * FROM local_balance_transactions
               WHERE created >= $1 AND created < $2 ORDER BY created, id""",
            start,
            end,
        )
        return [
            BalanceTransactionView(
                id=r["id"],
                type=r["type"],
                source=r["source"],
                amount_cents=r["amount_cents"],
                fee_cents=r["fee_cents"],
                net_cents=r["net_cents"],
                created=r["created"],
                payout_id=r["payout_id"],
            )
            for r in rows
        ]

    async def payouts(self, start: datetime, end: datetime) -> list[Payout]:
        await self.pay_out()
        rows = await self.pool.fetch(
            "SELECT * FROM local_payouts WHERE day >= $1 AND day < $2 ORDER BY day",
            start.date(),
            end.date(),
        )
        return [
            Payout(
                id=r["id"],
                amount_cents=r["amount_cents"],
                arrival=datetime.combine(r["arrival_date"], time(), UTC),
            )
            for r in rows
        ]


def _refund_result(row: asyncpg.Record) -> RefundResult:
    failure = "declined" if row["state"] == "failed" else None
    return RefundResult(provider_ref=row["id"], status=row["state"], failure=failure)


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
