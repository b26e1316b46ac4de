"""The address of a service-desk customer (`desk:<uuid>`, issue 19): they have no contact
details in notify (nobody signs in as them), the clerk gave them to cart when making the
customer. For the mails about their reservations and orders notify asks cart
(`cart.v1.desk_customer`) when it has no contact of its own; the answer is used for that
message only, not kept as a contact.

Cart is asked before a batch's transaction opens (`prepare`, the consumers'
`Consumer.prepare`): a slow or absent cart holds no transaction of notify's open. The
handlers then find the answers of their batch (`__call__`); one cart did not give makes its
event fail at once, to be delivered again later."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextvars import ContextVar

import asyncpg

from services.notify import order_store
from services.notify.domain.model import Recipient, signs_in
from shared.contracts import booking as b
from shared.contracts import cart as c
from shared.contracts import desk as d
from shared.contracts import payment as p
from shared.contracts.common import Event, RequestContext, system_principal
from shared.errors import NotFound, ServiceError, Unavailable
from shared.messaging import Requester, current_context, subject_for

DESK_CUSTOMER = subject_for("cart", "desk_customer")

# The events whose mails go to a desk customer's address from cart (consumers.py, orders.py;
# a refund's buyer is looked up by its order).
MAILED_WITH_DESK = (b.ReservationEvent, c.OrderPaid)
# A batch's desk customers as cart answered: the recipient, None (cart knows none), or the
# error cart's call ended in. Set by `prepare` in the consumer's own task, read by its handlers.
Answers = dict[str, Recipient | ServiceError | None]


class DeskContacts:
    def __init__(self, requester: Requester, pool: asyncpg.Pool | None = None) -> None:
        self.requester = requester
        self.pool = pool  # notify's own, for the buyer of a refunded order
        self._batch: ContextVar[Answers | None] = ContextVar("desk_contacts", default=None)

    async def prepare(self, events: Sequence[Event]) -> None:
        """Ask cart about the desk customers of a batch's events, before its transaction:
        those the events name, and the buyers of refunded orders (notify's own records)."""
        self._batch.set({})  # nothing of an earlier batch, should this one fail half-way
        customers = {e.customer for e in events if isinstance(e, MAILED_WITH_DESK)}
        refunded = [e.order_id for e in events if isinstance(e, p.PaymentRefunded)]
        if refunded and self.pool is not None:
            async with self.pool.acquire() as conn:
                customers |= await order_store.buyers(conn, refunded)
        customers = {customer for customer in customers if not signs_in(customer)}
        answers: Answers = {}
        down: Unavailable | None = None
        for customer in sorted(customers):
            if down is not None:  # cart did not answer: not waited for again in this batch
                answers[customer] = down
                continue
            try:
                answers[customer] = await self._ask(customer)
            except Unavailable as exc:
                answers[customer] = down = exc
            except ServiceError as exc:  # refused: that event is tried again later
                answers[customer] = exc
        self._batch.set(answers)

    async def __call__(self, customer: str) -> Recipient | None:
        """The desk customer as a recipient (None: not a desk customer, or cart knows none):
        the batch's answer when `prepare` asked, else cart now. Cart not answering raises: the
        event is tried again, no receipt lost."""
        if signs_in(customer):
            return None
        answers = self._batch.get()
        if answers is not None and customer in answers:
            found = answers[customer]
            if isinstance(found, ServiceError):
                raise found
            return found
        return await self._ask(customer)

    async def _ask(self, customer: str) -> Recipient | None:
        current = current_context.get()
        ctx = RequestContext(
            principal=system_principal("notify"),
            request_id=current.request_id if current else uuid.uuid4().hex,
        )
        try:
            found = await self.requester.call(
                DESK_CUSTOMER, d.DeskCustomerRequest(customer=customer), d.DeskCustomer, ctx=ctx
            )
        except NotFound:
            return None
        return Recipient(
            customer=customer,
            email=found.email or None,
            phone=found.phone or None,
            locale=found.language,
            reminders=False,
        )
