"""Use cases of the notification service: residents' contact details, departments' senders,
and what staff see was sent to a customer."""

from __future__ import annotations

from typing import cast

import asyncpg

from services.notify import store
from services.notify.domain.model import Recipient
from shared.access import acts_for_department, signed_in
from shared.contracts import notify as c
from shared.contracts.common import RequestContext
from shared.errors import Forbidden, ValidationFailed


def _contact_view(customer: str, row: Recipient | None) -> c.ContactView:
    if row is None:
        return c.ContactView(customer=customer, email=None, phone=None, locale="fi", reminders=True)
    locale = cast("c.Locale", row.locale if row.locale in ("fi", "sv", "en") else "fi")
    return c.ContactView(
        customer=customer, email=row.email, phone=row.phone, locale=locale,
        reminders=row.reminders,
    )  # fmt: skip


def _message_view(r: asyncpg.Record) -> c.MessageView:
    return c.MessageView(
        message_id=r["id"], event_id=r["event_id"], customer=r["customer"],
        channel=r["channel"], kind=r["kind"], merchant_id=r["merchant_id"], locale=r["locale"],
        address=r["address"], state=r["state"], attempts=r["attempts"],
        last_error=r["last_error"], created_at=r["created_at"], sent_at=r["sent_at"],
    )  # fmt: skip


class Notifications:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def set_contact(self, req: c.SetContactRequest, ctx: RequestContext) -> c.ContactView:
        """The signed-in person's own details (for anyone else's, there is no operation)."""
        principal = signed_in(ctx.principal)
        if principal.kind != "user":
            raise Forbidden("only a signed-in person has contact details")
        async with self.pool.acquire() as conn:
            await store.save_contact(conn, principal.subject, req)
            return _contact_view(principal.subject, await store.recipient(conn, principal.subject))

    async def seed_contact(self, req: c.SeedContactRequest, ctx: RequestContext) -> c.ContactView:
        """At sign-in: the claims' e-mail and language, unless the person has details already."""
        principal = signed_in(ctx.principal)
        if principal.kind != "user":
            raise Forbidden("only a signed-in person has contact details")
        async with self.pool.acquire() as conn:
            if req.email is not None or req.locale is not None:
                await store.seed_contact(conn, principal.subject, req.email, req.locale)
            return _contact_view(principal.subject, await store.recipient(conn, principal.subject))

    async def get_contact(self, _: c.GetContactRequest, ctx: RequestContext) -> c.ContactView:
        principal = signed_in(ctx.principal)
        async with self.pool.acquire() as conn:
            return _contact_view(principal.subject, await store.recipient(conn, principal.subject))

    async def customer_messages(
        self, req: c.CustomerMessagesRequest, ctx: RequestContext
    ) -> c.MessageList:
        """Staff see their departments' messages to the customer, admins every one."""
        principal = signed_in(ctx.principal)
        if principal.is_admin or principal.is_system:
            merchants: list[str] | None = None
        elif principal.has("staff") and principal.departments:
            merchants = list(principal.departments)
        else:
            raise Forbidden("only staff may see what was sent to a customer")
        async with self.pool.acquire() as conn:
            rows = await store.of_customer(conn, req.customer, merchants, req.limit, req.offset)
        return c.MessageList(messages=[_message_view(r) for r in rows])

    async def set_department(
        self, req: c.DepartmentSender, ctx: RequestContext
    ) -> c.DepartmentSender:
        principal = signed_in(ctx.principal)
        if not acts_for_department(principal, req.merchant_id):
            raise Forbidden("only staff of this department may set its sender")
        if req.merchant_id.strip() != req.merchant_id:
            raise ValidationFailed("no spaces around the department", field="merchant_id")
        async with self.pool.acquire() as conn:
            await store.save_department(conn, req)
        return req
