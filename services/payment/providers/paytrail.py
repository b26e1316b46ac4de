"""Paytrail (payment API v2) through our own signed client (paytrail_client.py).

Paying: one Paytrail payment per attempt of ours (`POST /payments`): `stamp` new for every
request sent (Paytrail has no idempotency keys and never takes a stamp twice; an attempt whose
answer was lost is never shown to anybody), `reference` the order's Finnish reference number,
the order's lines as items (unit price in cents, VAT included; `vatPercentage` a number with at
most one decimal, e.g. 25.5), the payer's e-mail and language (FI, SV, EN), and absolute
`redirectUrls` (our return page) and `callbackUrls` (our callback endpoint). The resident pays
on Paytrail's hosted page (`href`): bank buttons, mobile and card payments are Paytrail's to
show, our pages load nothing of theirs and our CSP stays as it is.

Callbacks and redirects are signed GETs (`checkout-*` query parameters, `signature`): verified
here, deduplicated by transaction and status, applied in any order. An unknown stamp or a wrong
amount is an anomaly for finance and changes nothing (the merchant account is the city's own).
A payment whose callback never came is asked about (`GET /payments/{transactionId}`) by the
sweeper before its window closes; Paytrail cannot close an open payment, so one paid after
that is a late success (cart keeps it or refunds it).

Refunds (`POST /payments/{transactionId}/refund`) carry our refund id as `refundStamp` and are
never sent twice (a request whose answer was lost waits for its refund callback); they stay
`pending` until a refund callback (or the answer) says ok or fail.

Reconciliation reads Paytrail's settlements (`GET /settlements`) and its payment reports,
which Paytrail delivers by a signed POST to our callback (`POST /payments/report`,
`POST /settlements/{id}/payments/report`): a report not delivered yet is asked for and the
reconciliation answers "try again shortly" (ReportPending) until it has come.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg

from services.payment import report_store
from services.payment.providers import paytrail_store as books
from services.payment.providers.base import (
    CancelOutcome,
    Capabilities,
    Delivery,
    InvalidSignature,
    PaymentOrder,
    Payout,
    ProviderConnectionError,
    ProviderRejected,
    ProviderTimeout,
    RefundResult,
    RefundStatus,
    ReportPending,
    StartResult,
    WebhookAuth,
    WebhookKind,
    WebhookNews,
)
from services.payment.providers.paytrail_client import PaytrailClient, verify
from services.payment.settings import PaymentSettings
from shared.contracts.cart import OrderLineSnapshot
from shared.contracts.payment import BalanceTransactionView

log = logging.getLogger(__name__)
HELSINKI = ZoneInfo("Europe/Helsinki")

LANGUAGES = {"fi": "FI", "sv": "SV", "en": "EN"}
# checkout-status of a payment -> what it means for ours.
PAYMENT_KINDS: dict[str, WebhookKind] = {
    "ok": "succeeded",
    "fail": "declined",  # cancelled by the payer or refused: the resident may try again
    "pending": "processing",
    "delayed": "processing",
}
# checkout-status of a refund (and `status` of the refund answer) -> ours.
REFUND_STATES: dict[str, RefundStatus] = {"ok": "succeeded", "fail": "failed", "pending": "pending"}
# Report rows of money that moved (the report's other statuses: New, Cancelled, Timeout, ...).
MOVED = frozenset({"Paid", "Paid and settled"})
# What we ask the reports for: amounts, fees and where they were settled; no payer's data.
REPORT_FIELDS = [
    "entryDate",
    "created",
    "amount",
    "status",
    "reference",
    "stamp",
    "settlementId",
    "settlementDate",
    "originalTradeReference",
    "paymentMethodFee",
    "paymentMethodCommission",
]
REPORT_LIMIT = 50_000  # Paytrail's largest report
REASK_S = 600.0  # a report asked for and not delivered is asked for again after this
CALLBACK_PATH = "/api/v1/payments/callbacks/paytrail"


def vat_percentage(rate_bp: int) -> int | float:
    """Paytrail takes VAT as a number with at most one decimal (2550 bp -> 25.5)."""
    if rate_bp < 0 or rate_bp > 10_000 or rate_bp % 10:
        raise ProviderRejected(
            f"Paytrail takes VAT with one decimal at most, not {rate_bp / 100:g} %",
            code="vat_not_representable",
        )
    return rate_bp // 100 if rate_bp % 100 == 0 else rate_bp / 100


def items(lines: tuple[OrderLineSnapshot, ...], description: str, amount: int) -> list[Any]:
    """The order's lines as Paytrail items (gross unit prices in cents); a line whose amount
    does not divide by its quantity is one item of its whole amount."""
    out: list[dict[str, Any]] = []
    for line in lines:
        units = line.quantity if line.quantity > 0 else 1
        unit, rest = divmod(line.gross_cents, units)
        if rest:
            unit, units = line.gross_cents, 1
        out.append(
            {
                "unitPrice": unit,
                "units": units,
                "vatPercentage": vat_percentage(line.vat_rate_bp),
                "productCode": f"{line.kind}:{line.reference}"[:100],
                "description": (line.description or description)[:1000],
            }
        )
    if not out or sum(i["unitPrice"] * i["units"] for i in out) != amount:
        raise ProviderRejected("the order's lines do not add up to its amount", code="items")
    return out


def stamp_for(payment_id: uuid.UUID) -> str:
    """A new stamp for each request sent: our payment id and a random suffix."""
    return f"{payment_id}.{secrets.token_hex(4)}"


def payment_of_stamp(stamp: str) -> uuid.UUID | None:
    return _uuid(stamp.split(".", 1)[0])


def cents(value: Any) -> int:
    """Euros as Paytrail's reports give them (a number, up to three decimals) -> cents."""
    try:
        euros = Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    return int((euros * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def report_row(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A report row reduced to what reconciliation needs (no payer's data), in cents. The
    fee is Paytrail's payment method fee and commission together, rounded to the cent."""
    fee = Decimal(str(raw.get("paymentMethodFee") or 0)) + Decimal(
        str(raw.get("paymentMethodCommission") or 0)
    )
    settlement = raw.get("settlementId")
    return {
        "stamp": str(raw.get("stamp") or ""),
        "reference": str(raw.get("reference") or ""),
        "status": str(raw.get("status") or ""),
        "amount_cents": cents(raw.get("amount")),
        "fee_cents": cents(fee),
        "settlement_id": None if settlement in (None, "") else str(settlement),
        "settlement_date": raw.get("settlementDate"),
        "original_reference": raw.get("originalTradeReference"),
        "entry_date": str(raw.get("entryDate") or ""),
        "created": str(raw.get("created") or ""),
    }


def row_time(row: Mapping[str, Any], now: datetime | None = None) -> datetime:
    """`entryDate` DD-MM-YYYY and `created` HH:mm, Helsinki time -> UTC (a row without a
    readable date: today in Helsinki, as of `now`; not the server's UTC date)."""
    try:
        day = datetime.strptime(row["entry_date"], "%d-%m-%Y").date()
    except ValueError:
        day = (now or datetime.now(UTC)).astimezone(HELSINKI).date()
    try:
        at = datetime.strptime(row["created"], "%H:%M").time()
    except ValueError:
        at = time()
    return datetime.combine(day, at, HELSINKI).astimezone(UTC)


class PaytrailProvider:
    name: ClassVar[str] = "paytrail"
    # Paytrail: more than zero, at most 999,999.98 (its documented limits); no time limit
    # on its hosted page (and no way for us to close it); partial refunds, confirmed later by
    # callback; the merchant account is ours alone.
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_refunds=True,
        min_amount_cents=1,
        max_amount_cents=99_999_998,
        methods=("bank", "mobile", "creditcard", "credit"),
        refunds_confirmed_later=True,
        shared_account=False,
    )
    # Callbacks and redirects: `signature` among the query parameters; reports: the
    # `signature` header.
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth("query", "signature")

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: PaytrailClient,
        *,
        public_url: str,
        default_email: str = "",
        attempts: int = 2,
    ) -> None:
        self.pool = pool
        self.client = client
        self.merchant_id = client.merchant_id
        self.secret = client.secret
        self.public_url = public_url.rstrip("/")
        self.default_email = default_email
        self.attempts = max(attempts, 1)
        self._asking: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: PaymentSettings, pool: asyncpg.Pool) -> PaytrailProvider:
        merchant, secret = settings.paytrail_merchant_id, settings.paytrail_secret
        if not (merchant and merchant.isdigit() and secret):
            raise ValueError("Paytrail needs PAYMENT_PAYTRAIL_MERCHANT_ID and ..._SECRET")
        client = PaytrailClient(
            settings.paytrail_api_base,
            merchant,
            secret,
            timeout_s=settings.provider_timeout_s,
            retries=settings.provider_retries,
        )
        return cls(
            pool,
            client,
            public_url=settings.public_address(),
            default_email=settings.paytrail_default_email,
            attempts=settings.provider_retries + 1,
        )

    # --- addresses -------------------------------------------------------------------------

    def return_url(self, payment_id: uuid.UUID) -> str:
        return f"{self.public_url}/pay/paytrail/{payment_id}/return"

    def callback_url(self, topic: str = "", **query: str) -> str:
        url = f"{self.public_url}{CALLBACK_PATH}" + (f"/{topic}" if topic else "")
        return url + (f"?{urlencode(query)}" if query else "")

    # --- paying ------------------------------------------------------------------------------

    def payment_body(self, order: PaymentOrder) -> dict[str, Any]:
        """The create-payment body without its stamp (the same order gives the same body)."""
        email = order.customer_email or self.default_email
        if not email:
            raise ProviderRejected(
                "Paytrail needs the payer's e-mail address", code="email_required"
            )
        back = self.return_url(order.payment_id)
        called = self.callback_url()
        return {
            "reference": order.reference_number,
            "amount": order.amount_cents,
            "currency": "EUR",
            "language": LANGUAGES.get(order.language.lower(), "FI"),
            "items": items(order.lines, order.description, order.amount_cents),
            "customer": {"email": email},
            "redirectUrls": {"success": back, "cancel": back},
            "callbackUrls": {"success": called, "cancel": called},
        }

    async def start(self, order: PaymentOrder, idempotency_key: str) -> StartResult:
        """Open the payment; a repeat reuses the attempt Paytrail answered. Each request sent
        has a stamp of its own; a 5xx or no answer is tried again with a new one."""
        body = self.payment_body(order)
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            stamp = stamp_for(order.payment_id)
            async with self.pool.acquire() as conn, conn.transaction():
                row = await books.claim_attempt(conn, order.payment_id, stamp, order.amount_cents)
            if row is None:
                raise ProviderTimeout("another attempt to open this payment is under way")
            if row["state"] == "answered":
                return StartResult(provider_ref=row["transaction_id"], redirect_url=row["href"])
            try:
                answer = await self.client.call("POST", "/payments", {**body, "stamp": stamp})
            except (ProviderConnectionError, ProviderTimeout):
                await books.attempt_ended(self.pool, stamp, "unknown")
                if last:
                    raise
                continue
            except ProviderRejected as exc:
                await books.attempt_ended(
                    self.pool, stamp, "unknown" if exc.status >= 500 else "refused"
                )
                if exc.status < 500:
                    raise
                if last:
                    raise ProviderConnectionError(f"Paytrail answered {exc.status}") from exc
                continue
            answered = answer.body if isinstance(answer.body, dict) else {}
            transaction, href = answered.get("transactionId"), answered.get("href")
            if not (isinstance(transaction, str) and isinstance(href, str)):
                await books.attempt_ended(self.pool, stamp, "unknown")
                raise ProviderRejected("Paytrail's answer has no transaction", status=502)
            await books.attempt_answered(self.pool, stamp, transaction, href)
            return StartResult(provider_ref=transaction, redirect_url=href)
        raise AssertionError("unreachable")  # pragma: no cover

    async def status_of(self, transaction_id: str) -> str:
        """`GET /payments/{transactionId}`: new | ok | fail | pending | delayed | ..."""
        answer = await self.client.call(
            "GET", f"/payments/{transaction_id}", transaction_id=transaction_id, retry=True
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        return str(body.get("status", ""))

    async def cancel(self, provider_ref: str, idempotency_key: str) -> CancelOutcome:
        """Paytrail cannot close an open payment: ask how it is (for payments whose callback
        never came). Paid: `paid`; being processed: `processing`; else nothing more is done
        here, and a payment made later still comes as a (late) success."""
        try:
            status = await self.status_of(provider_ref)
        except ProviderRejected as exc:
            if exc.status == 404:
                return "cancelled"
            raise
        if status == "ok":
            return "paid"
        if status in ("pending", "delayed", "authorization-hold"):
            return "processing"
        return "cancelled"

    async def fee_of(self, provider_ref: str) -> int | None:
        """Paytrail's fee comes with its reports: known once a report naming the payment has
        been delivered (the day's report is asked for meanwhile, in the background)."""
        attempt = await books.attempt_by_transaction(self.pool, provider_ref)
        if attempt is None:
            return None
        for row in await report_store.rows_naming(self.pool, self.name, "stamp", attempt["stamp"]):
            if row.get("status") in MOVED:
                return int(row["fee_cents"])
        day = attempt["created_at"].astimezone(HELSINKI).date()
        start = datetime.combine(day, time(), HELSINKI).astimezone(UTC)
        task = asyncio.create_task(self._ask_in_background(start, start + timedelta(days=1)))
        self._asking.add(task)
        task.add_done_callback(self._asking.discard)
        return None

    # --- callbacks and reports ---------------------------------------------------------------

    def parse_webhook(self, delivery: Delivery) -> WebhookNews:
        if delivery.topic == "report":
            return self._report(delivery)
        if delivery.method != "GET" or delivery.topic not in ("", "refund"):
            raise InvalidSignature("Paytrail calls back with signed GET requests")
        verify(self.secret, delivery.query, dict(delivery.query).get("signature", ""))
        p = {k: v for k, v in delivery.query if k.startswith("checkout-")}
        if p.get("checkout-account") != self.merchant_id:
            raise InvalidSignature("the callback is of another merchant account")
        status = p.get("checkout-status", "")
        transaction = p.get("checkout-transaction-id", "")
        stamp = p.get("checkout-stamp", "")
        amount = p.get("checkout-amount", "")
        reported = int(amount) if amount.isdigit() else None
        if delivery.topic == "refund":
            refund_status = REFUND_STATES.get(status)
            return WebhookNews(
                event_id=f"refund:{transaction or stamp}:{status}",
                event_type=f"refund.{status}",
                kind="refund" if refund_status else "ignored",
                provider_ref=None,
                refund_ref=transaction,  # none when Paytrail refused it before creating it
                refund_status=refund_status,
                refund_id=_uuid(stamp),
                amount_cents=reported,
                stamp=stamp,
                reason="refused by Paytrail" if status == "fail" else None,
            )
        kind = PAYMENT_KINDS.get(status, "ignored")
        return WebhookNews(
            event_id=f"payment:{transaction}:{status}",
            event_type=f"payment.{status}",
            kind=kind,
            provider_ref=transaction or None,
            payment_id=payment_of_stamp(stamp),
            amount_cents=reported if kind == "succeeded" else None,
            stamp=stamp,
            reason=p.get("checkout-provider"),
        )

    def _report(self, delivery: Delivery) -> WebhookNews:
        """A report Paytrail delivers (signed like its answers: `checkout-*` headers and the
        raw body, `signature` header); `id` in our callback address says which one."""
        if delivery.method != "POST":
            raise InvalidSignature("Paytrail delivers reports with POST")
        text = delivery.body.decode("utf-8", "replace")
        verify(self.secret, delivery.headers.items(), delivery.header("signature"), text)
        if delivery.header("checkout-account") != self.merchant_id:
            raise InvalidSignature("the report is of another merchant account")
        report_id = _uuid(dict(delivery.query).get("id"))
        try:
            raw = json.loads(text, parse_float=Decimal)
            if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
                raise ValueError("not a list of rows")
            rows = tuple(report_row(r) for r in raw)
        except ValueError:
            raise InvalidSignature("the signed body is not a Paytrail payment report") from None
        return WebhookNews(
            event_id=f"report:{report_id}",
            event_type="report",
            kind="report" if report_id else "ignored",
            provider_ref=None,
            report_id=report_id,
            report=rows,
        )

    async def _ask_period(self, start: datetime, end: datetime, *, force: bool = False) -> None:
        """Ask for the payments created in [start, end), unless asked for lately (`force`:
        unless one asked for lately is still on its way)."""
        last = await report_store.latest(self.pool, self.name, "period", period=(start, end))
        if last is not None and _recent(last, waiting_only=force):
            return
        report_id = await report_store.ask(self.pool, self.name, "period", period=(start, end))
        await self.client.call(
            "POST",
            "/payments/report",
            {
                "requestType": "json",
                "callbackUrl": self.callback_url("report", id=str(report_id)),
                "paymentStatus": "default",
                "startDate": _iso(start),
                "endDate": _iso(end),
                "limit": REPORT_LIMIT,
                "reportFields": REPORT_FIELDS,
            },
        )

    async def _ask_in_background(self, start: datetime, end: datetime) -> None:
        try:
            await self._ask_period(start, end)
        except Exception:  # asked again later (settlement, reconciliation); logged, not lost
            log.exception("Paytrail's report of %s..%s could not be asked for", start, end)

    async def _ask_settlement(self, settlement_id: str) -> None:
        last = await report_store.latest(
            self.pool, self.name, "settlement", settlement_ref=settlement_id
        )
        if last is not None and _recent(last, waiting_only=True):
            return
        report_id = await report_store.ask(
            self.pool, self.name, "settlement", settlement_ref=settlement_id
        )
        await self.client.call(
            "POST",
            f"/settlements/{settlement_id}/payments/report",
            {
                "requestType": "json",
                "callbackUrl": self.callback_url("report", id=str(report_id)),
                "reportFields": REPORT_FIELDS,
            },
        )

    # --- refunds -----------------------------------------------------------------------------

    async def refund(
        self,
        provider_ref: str,
        amount_cents: int,
        idempotency_key: str,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundResult:
        """`refundStamp` = our refund id. Sent once: a request sent before (its answer lost)
        is left to its refund callback."""
        stamp = (metadata or {}).get("refund_id") or idempotency_key
        row, new = await books.claim_refund(self.pool, stamp, provider_ref, amount_cents)
        if not new:
            if (row["payment_transaction_id"], row["amount_cents"]) != (provider_ref, amount_cents):
                raise ProviderRejected("refund stamp reused with other parameters", code="stamp")
            return _refund_result(row)
        called = self.callback_url("refund")
        body = {
            "amount": amount_cents,
            "refundStamp": stamp,
            "refundReference": stamp,
            "callbackUrls": {"success": called, "cancel": called},
        }
        try:
            answer = await self.client.call(
                "POST", f"/payments/{provider_ref}/refund", body, transaction_id=provider_ref
            )
        except ProviderConnectionError:
            await books.forget_refund(self.pool, stamp)  # never sent: may be sent again
            raise
        except ProviderTimeout:
            await books.refund_answered(self.pool, stamp, "unknown", None)
            raise
        except ProviderRejected as exc:
            await books.refund_answered(
                self.pool, stamp, "unknown" if exc.status >= 500 else "fail", None
            )
            raise
        answered = answer.body if isinstance(answer.body, dict) else {}
        state = str(answered.get("status", ""))
        transaction = answered.get("transactionId")
        row = await books.refund_answered(
            self.pool,
            stamp,
            state if state in REFUND_STATES else "pending",
            transaction if isinstance(transaction, str) else None,
        )
        return _refund_result(row)

    async def refund_status(self, refund_ref: str) -> RefundResult:
        """Paytrail has no refund query: what its answer said (its callbacks settle the rest)."""
        row = await books.refund_by_transaction(self.pool, refund_ref)
        return _refund_result(row) if row is not None else RefundResult(refund_ref, "pending")

    # --- reconciliation ----------------------------------------------------------------------

    async def _settlements(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """`GET /settlements` of the period (Paytrail lists at most 100: a longer list is cut,
        so a period that long is refused)."""
        answer = await self.client.call(
            "GET",
            "/settlements",
            query={
                "startDate": start.date().isoformat(),
                "endDate": (end - timedelta(days=1)).date().isoformat(),
            },
            retry=True,
        )
        found = answer.body if isinstance(answer.body, list) else []
        if len(found) >= 100:
            raise ProviderRejected(
                "Paytrail lists 100 settlements at most: reconcile a shorter period",
                code="too_many_settlements",
            )
        return [s for s in found if isinstance(s, dict) and "id" in s]

    async def _delivered(
        self, kind: str, *, period: tuple[datetime, datetime] | None = None, settlement: str = ""
    ) -> list[dict[str, Any]] | None:
        """A delivered report (a period's only if asked for after the period ended), or None
        after asking for it."""
        row = await report_store.latest(
            self.pool, self.name, kind, period=period, settlement_ref=settlement or None
        )
        complete = row is not None and row["rows"] is not None
        if complete and period is not None:  # a period still going on: a fresh report will do
            assert row is not None
            fresh = datetime.now(UTC) - row["requested_at"] < timedelta(seconds=REASK_S)
            complete = row["requested_at"] >= period[1] or (fresh and period[1] > datetime.now(UTC))
        if complete:
            assert row is not None
            rows = list(row["rows"])
            if settlement and any(r["settlement_id"] not in (None, settlement) for r in rows):
                log.error("Paytrail's report %s is not of settlement %s", row["id"], settlement)
                return None
            if len(rows) >= REPORT_LIMIT:
                raise ProviderRejected(
                    "Paytrail's report is cut at 50,000 payments: reconcile a shorter period",
                    code="report_too_long",
                )
            return rows
        if period is not None:
            await self._ask_period(*period, force=True)
        else:
            await self._ask_settlement(settlement)
        return None

    async def _reports(
        self, start: datetime, end: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        settlements = await self._settlements(start, end)
        period = await self._delivered("period", period=(start, end))
        of_settlement = {
            str(s["id"]): await self._delivered("settlement", settlement=str(s["id"]))
            for s in settlements
        }
        missing = (period is None) + sum(rows is None for rows in of_settlement.values())
        if period is None or missing:
            raise ReportPending(
                f"Paytrail delivers its reports by callback: {missing} asked for; "
                "try again in a minute"
            )
        return period, settlements, {k: v or [] for k, v in of_settlement.items()}

    async def balance_transactions(
        self, start: datetime, end: datetime
    ) -> list[BalanceTransactionView]:
        """The period's payments and refunds as Paytrail's report gives them, each by the
        transaction our ledger knows it by, with its settlement."""
        rows, _, _ = await self._reports(start, end)
        moved = [r for r in rows if r["status"] in MOVED]
        known = await books.transactions_of_stamps(self.pool, [r["stamp"] for r in moved])
        return [
            BalanceTransactionView(
                id=f"ptr_{r['stamp']}",
                type="refund" if r["amount_cents"] < 0 else "payment",
                source=known.get(r["stamp"], r["stamp"]),
                amount_cents=r["amount_cents"],
                fee_cents=r["fee_cents"],
                net_cents=r["amount_cents"] - r["fee_cents"],
                created=row_time(r),
                payout_id=r["settlement_id"],
            )
            for r in moved
        ]

    async def payouts(self, start: datetime, end: datetime) -> list[Payout]:
        """Paytrail's settlements of the period; each one's amount is what its settlement
        report says was paid out (amounts less fees)."""
        _, settlements, reports = await self._reports(start, end)
        return [
            Payout(
                id=str(s["id"]),
                amount_cents=sum(
                    r["amount_cents"] - r["fee_cents"]
                    for r in reports[str(s["id"])]
                    if r["status"] in MOVED
                ),
                arrival=_when(s.get("settledAt")),
            )
            for s in settlements
        ]


def _refund_result(row: asyncpg.Record) -> RefundResult:
    state = row["state"]
    ref = row["transaction_id"] or ""
    if state == "ok":
        return RefundResult(provider_ref=ref, status="succeeded")
    if state == "fail":
        return RefundResult(provider_ref=ref, status="failed", failure="refused by Paytrail")
    return RefundResult(provider_ref=ref, status="pending")  # pending, or sent and unanswered


def _recent(report: asyncpg.Record, *, waiting_only: bool) -> bool:
    """Asked for lately (`waiting_only`: and not delivered yet): not asked for again."""
    age = (datetime.now(UTC) - report["requested_at"]).total_seconds()
    return age < REASK_S and (report["rows"] is None or not waiting_only)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _when(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=HELSINKI)


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
