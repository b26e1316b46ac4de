"""The address of a service-desk customer (`desk:<uuid>`, issue 19): they have no contact
details in notify (nobody signs in as them), the clerk gave them to cart when making the
customer. For the mails about their reservations and orders notify asks cart
(`cart.v1.desk_customer`) when it has no contact of its own; the answer is used for that
message only, not kept as a contact."""

from __future__ import annotations

import uuid

from services.notify.domain.model import DESK_CUSTOMER_PREFIX, Recipient
from shared.contracts import desk as d
from shared.contracts.common import RequestContext, system_principal
from shared.errors import NotFound
from shared.messaging import Requester, current_context, subject_for

DESK_CUSTOMER = subject_for("cart", "desk_customer")
PREFIX = DESK_CUSTOMER_PREFIX


class DeskContacts:
    def __init__(self, requester: Requester) -> None:
        self.requester = requester

    async def __call__(self, customer: str) -> Recipient | None:
        """The desk customer as a recipient (None: not a desk customer, or cart knows none).
        Cart not answering raises: the event is tried again, no receipt lost."""
        if not customer.startswith(PREFIX):
            return None
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
