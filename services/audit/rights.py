"""Residents' data rights (GDPR), across the services: a resident's own data from every
service (machine-readable JSON), and erasure on request or by the retention rule.

Erasure: each service replaces the person's subject with one pseudonym (`erased:<random>`)
and removes what is only about them, keeping accounting records whole (amounts, dates,
dimensions: the books balance as before); then the audit trail forgets the person's key, so
its entries about them stay chained and intact but name nobody. A service that does not
answer stops the erasure with `unavailable`: asking again is safe (each step is idempotent).
"""

from __future__ import annotations

import logging
import uuid

import msgspec

from services.audit import store
from services.audit.service import AuditTrail, entry_view
from shared.contracts.audit import (
    ErasedCounts,
    ErasePersonalDataRequest,
    EraseReply,
    EraseRequest,
    MyData,
    MyDataRequest,
    PersonalData,
    PersonalDataRequest,
    StaleCustomers,
    StalePersonalDataRequest,
)
from shared.contracts.common import RequestContext, system_principal, utcnow
from shared.errors import Forbidden, Unauthenticated, ValidationFailed
from shared.messaging import Requester, subject_for

log = logging.getLogger(__name__)

SERVICES = ("booking", "cart", "payment", "notify")
RETENTION_LOCK = 0x41554452  # 'AUDR'
# What the audit service asks each service (written out: deploy/nats-server.conf must allow
# exactly these, tests/unit/shared/test_nats_permissions.py reads them from here).
PERSONAL_DATA = {
    "booking": subject_for("booking", "personal_data"),
    "cart": subject_for("cart", "personal_data"),
    "payment": subject_for("payment", "personal_data"),
    "notify": subject_for("notify", "personal_data"),
}
ERASE = {
    "booking": subject_for("booking", "erase_personal_data"),
    "cart": subject_for("cart", "erase_personal_data"),
    "payment": subject_for("payment", "erase_personal_data"),
    "notify": subject_for("notify", "erase_personal_data"),
}
STALE = {
    "booking": subject_for("booking", "stale_customers"),
    "cart": subject_for("cart", "stale_customers"),
    "payment": subject_for("payment", "stale_customers"),
    "notify": subject_for("notify", "stale_customers"),
}


class Rights:
    def __init__(self, trail: AuditTrail, requester: Requester) -> None:
        self.trail = trail
        self.requester = requester

    def _as_audit(self, ctx: RequestContext) -> RequestContext:
        return RequestContext(
            principal=system_principal("audit"),
            request_id=ctx.request_id,
            traceparent=ctx.traceparent,
            client_address=ctx.client_address,
        )

    async def my_data(self, req: MyDataRequest, ctx: RequestContext) -> MyData:
        principal = ctx.principal
        if principal is None or principal.kind != "user":
            raise Unauthenticated("sign in first")
        subject = principal.subject
        as_audit = self._as_audit(ctx)
        services: dict[str, PersonalData] = {}
        for service in SERVICES:
            services[service] = await self.requester.call(
                PERSONAL_DATA[service],
                PersonalDataRequest(customer=subject),
                PersonalData,
                ctx=as_audit,
            )
        pool = self.trail.pool
        async with pool.acquire() as conn, conn.transaction():
            person = await self.trail.pseudonyms.of(conn, subject, create=False)
            rows = []
            if person is not None:
                rows = await store.search(
                    conn,
                    actor=None,
                    person=person,
                    object_type=None,
                    object_id=None,
                    action=None,
                    since=None,
                    until=None,
                    before_seq=None,
                    limit=10_000,
                )
            await self.trail.append_own(
                conn, ctx, action="audit.v1.my_data", kind="view", person=person
            )
        return MyData(
            subject=subject,
            generated_at=utcnow(),
            services=services,
            audit_entries=[entry_view(r) for r in rows],
        )

    async def erase(self, req: EraseRequest, ctx: RequestContext) -> EraseReply:
        principal = ctx.principal
        if principal is None or principal.kind != "user":
            raise Unauthenticated("sign in first")
        if not req.confirm:
            raise ValidationFailed("erasure cannot be undone: set confirm to true", field="confirm")
        subject = req.customer or principal.subject
        if subject != principal.subject and not principal.is_admin:
            raise Forbidden("only an admin may erase another person's data")
        if subject.startswith("erased:") or subject.startswith("system:"):
            raise ValidationFailed("not a person's subject", field="customer")
        counts = await self.erase_subject(subject, ctx, reason="request")
        return counts

    async def erase_subject(self, subject: str, ctx: RequestContext, *, reason: str) -> EraseReply:
        pseudonym = f"erased:{uuid.uuid4().hex}"
        as_audit = self._as_audit(ctx)
        erased: list[ErasedCounts] = []
        for service in SERVICES:
            erased.append(
                await self.requester.call(
                    ERASE[service],
                    ErasePersonalDataRequest(customer=subject, pseudonym=pseudonym),
                    ErasedCounts,
                    ctx=as_audit,
                )
            )
        pool = self.trail.pool
        async with pool.acquire() as conn, conn.transaction():
            person = await self.trail.pseudonyms.of(conn, subject, create=False)
            await self.trail.append_own(
                conn,
                ctx,
                action="audit.v1.erase",
                kind="erasure",
                person=person,
                changes={"reason": reason},
                after={"services": msgspec.to_builtins(erased)},
            )
            await store.forget_person_key(conn, await self.trail.pseudonyms.ref(subject))
        return EraseReply(pseudonym=pseudonym, services=erased)

    async def apply_retention(self, older_than_days: int, batch: int) -> int:
        """The retention job: erase every person none of whose records in any service is
        newer than `older_than_days`. Returns how many were erased. One replica at a time
        (a session lock on a connection of its own, held with no transaction open while the
        services are asked): the other leaves this round."""
        async with self.trail.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RETENTION_LOCK):
                return 0
            try:
                return await self._retention_round(older_than_days, batch)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", RETENTION_LOCK)

    async def _retention_round(self, older_than_days: int, batch: int) -> int:
        ctx = RequestContext(principal=system_principal("audit"), request_id=uuid.uuid4().hex)
        candidates: set[str] = set()
        for service in SERVICES:
            found = await self._stale(service, older_than_days, batch, None, ctx)
            candidates.update(found)
        for service in SERVICES:
            if not candidates:
                break
            among = sorted(candidates)[:1000]
            candidates = set(among) & set(
                await self._stale(service, older_than_days, batch, among, ctx)
            )
        for subject in sorted(candidates):
            await self.erase_subject(subject, ctx, reason="retention")
        if candidates:
            log.info("retention: erased the personal data of %d people", len(candidates))
        return len(candidates)

    async def _stale(
        self,
        service: str,
        days: int,
        batch: int,
        among: list[str] | None,
        ctx: RequestContext,
    ) -> list[str]:
        reply = await self.requester.call(
            STALE[service],
            StalePersonalDataRequest(
                older_than_days=days,
                limit=batch if among is None else min(1000, max(1, len(among))),
                among=among,
            ),
            StaleCustomers,
            ctx=ctx,
        )
        return reply.customers
