"""Use cases of the audit trail: append what the services report, search, check the chain."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from services.audit import store
from services.audit.domain.chain import GENESIS, verify
from services.audit.domain.pseudonyms import key_ref, pseudonym
from shared.audit_trail import object_of, record_of, recorded
from shared.contracts.audit import (
    AUDIT_EVENTS,
    AuditEntry,
    AuditRecord,
    AuditSearchReply,
    AuditSearchRequest,
    VerifyReply,
    VerifyRequest,
)
from shared.contracts.common import Event, Principal, RequestContext
from shared.errors import Forbidden, ServiceError, Unauthenticated
from shared.messaging import current_context

# Operations that append their own entry when they succeed
SELF_RECORDED = frozenset({"search", "my_data", "erase"})


def require_admin(ctx: RequestContext) -> Principal:
    """The log is read by admins only (the city's data-protection officer among them)."""
    principal = ctx.principal
    if principal is None:
        raise Unauthenticated("sign in first")
    if not principal.is_admin:
        raise Forbidden("only an admin may read the audit trail")
    return principal


class Pseudonyms:
    """Residents' pseudonyms: HMAC under a key of their own, found by a keyed reference."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._pepper: bytes | None = None

    async def ref(self, subject: str) -> str:
        if self._pepper is None:
            self._pepper = await store.pepper(self.pool)
        return key_ref(self._pepper, subject)

    async def of(self, conn: asyncpg.Connection, subject: str, *, create: bool) -> str | None:
        """The subject's pseudonym (a new key when `create`), or None (no key: erased or
        never seen)."""
        key = await store.person_key(conn, await self.ref(subject), create=create)
        return None if key is None else pseudonym(key, subject)


class AuditTrail:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.pseudonyms = Pseudonyms(pool)

    async def record_event(self, conn: asyncpg.Connection, event: Event) -> None:
        """Append what an event tells (in the consumer's transaction, with its inbox row)."""
        if type(event) in AUDIT_EVENTS.values():
            content = await self._from_record(conn, event.record)  # type: ignore[attr-defined]
        else:
            content = await self._from_event(conn, event)
        content["entry_id"] = event.event_id
        await store.append(conn, content)

    async def _from_record(
        self, conn: asyncpg.Connection, record: AuditRecord, *, create: bool = True
    ) -> dict[str, Any]:
        content: dict[str, Any] = msgspec.to_builtins(record)
        if record.person:
            content["person"] = await self.pseudonyms.of(conn, record.person, create=create)
        content["request_id"] = record.request_id
        return content

    async def _from_event(self, conn: asyncpg.Connection, event: Event) -> dict[str, Any]:
        """A fact a service announced (a sweeper expired a hold, a consumer paid an order):
        the system's change, recorded as the service's."""
        service = event.subject.split(".")[1]
        plain = msgspec.to_builtins(event)
        customer = plain.get("customer") if isinstance(plain, dict) else None
        object_type, object_id = object_of(event)
        return {
            "service": service,
            "action": event.subject,
            "kind": "event",
            "outcome": "ok",
            "actor": f"system:{service}",
            "actor_kind": "service",
            "actor_roles": ["system"],
            "object_type": object_type,
            "object_id": object_id,
            "person": (
                await self.pseudonyms.of(conn, customer, create=True)
                if isinstance(customer, str) and customer
                else None
            ),
            # the request whose work announced it (a staff member's, a resident's, a sweep's)
            "request_id": ctx.request_id if (ctx := current_context.get()) else "",
            "client_address": None,
            "before": None,
            "after": recorded(event),
            "changes": None,
        }

    async def append_own(
        self,
        conn: asyncpg.Connection,
        ctx: RequestContext,
        *,
        action: str,
        kind: str,
        person: str | None = None,
        changes: Any = None,
        after: Any = None,
    ) -> None:
        """An entry of the audit service's own doing (a search, an export, an erasure)."""
        principal = ctx.principal
        roles = list(principal.roles) if principal else []
        actor = principal.subject if principal else "anonymous"
        if principal is not None and not any(r != "resident" for r in principal.roles):
            actor = await self.pseudonyms.of(conn, actor, create=True) or "p:erased"
        await store.append(
            conn,
            {
                "entry_id": store.new_entry_id(),
                "service": "audit",
                "action": action,
                "kind": kind,
                "outcome": "ok",
                "actor": actor,
                "actor_kind": principal.kind if principal else "user",
                "actor_roles": roles,
                "object_type": None,
                "object_id": None,
                "person": person,
                "request_id": ctx.request_id,
                "client_address": ctx.client_address,
                "before": None,
                "after": after,
                "changes": changes,
            },
        )

    async def after_operation(
        self,
        operation: str,
        read_only: bool,
        ctx: RequestContext,
        request: Any,
        reply: Any,
        error: ServiceError | None,
    ) -> None:
        """The audit service's own operations, recorded in its own log: the chain check, and
        every refused call (a search, an export, an erasure that went through record
        themselves)."""
        record = record_of("audit", operation, read_only, ctx, request, reply, error)
        if record is None or (error is None and operation in SELF_RECORDED):
            return
        async with self.pool.acquire() as conn, conn.transaction():
            content = await self._from_record(conn, record, create=False)
            content["entry_id"] = store.new_entry_id()
            await store.append(conn, content)

    async def search(self, req: AuditSearchRequest, ctx: RequestContext) -> AuditSearchReply:
        require_admin(ctx)
        async with self.pool.acquire() as conn, conn.transaction():
            person = None
            if req.person is not None:
                person = await self.pseudonyms.of(conn, req.person, create=False)
                if person is None:  # never seen, or erased: nothing names them
                    person = "p:none"
            rows = await store.search(
                conn,
                actor=req.actor,
                person=person,
                object_type=req.object_type,
                object_id=req.object_id,
                action=req.action,
                since=req.since,
                until=req.until,
                before_seq=req.before_seq,
                limit=req.limit,
            )
            # reading the log is itself recorded (whose entries were looked at)
            await self.append_own(
                conn,
                ctx,
                action="audit.v1.search",
                kind="view",
                person=person if person != "p:none" else None,
                changes=recorded(
                    msgspec.structs.replace(req, person="[masked]" if req.person else None)
                ),
                after={"entries": len(rows)},
            )
        entries = [entry_view(row) for row in rows]
        more = entries[-1].seq if len(entries) == req.limit else None
        return AuditSearchReply(entries=entries, next_before_seq=more)

    async def verify(self, req: VerifyRequest, ctx: RequestContext) -> VerifyReply:
        require_admin(ctx)
        start = req.from_seq or 1
        previous = GENESIS if start == 1 else await store.hash_before(self.pool, start)
        if previous is None:
            return VerifyReply(ok=False, checked=0, first_bad_seq=start, problem="no such entry")
        rows = [row async for row in store.chain_rows(self.pool, start)]
        check = verify(rows, previous)
        return VerifyReply(
            ok=check.ok,
            checked=check.checked,
            last_seq=check.last_seq,
            first_bad_seq=check.first_bad_seq,
            problem=check.problem,
        )


def entry_view(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        recorded_at=row["recorded_at"],
        service=row["service"],
        action=row["action"],
        kind=row["kind"],
        outcome=row["outcome"],
        actor=row["actor"],
        actor_roles=row["actor_roles"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        person=row["person"],
        request_id=row["request_id"],
        client_address=row["client_address"],
        before=row["before"],
        after=row["after"],
        changes=row["changes"],
        hash=bytes(row["hash"]).hex(),
    )
