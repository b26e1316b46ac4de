"""The staff page of what was sent to a customer (issue 18): `/staff/messages` finds the
customer as the service desk does (name, e-mail, phone, order or reference number), then lists
the e-mails and text messages sent to them, newest first: channel, kind, department, address,
and whether each was sent, failed for good (with the reason) or waits for a retry.

The list is `notify.v1.customer_messages`, which the notification service records as a view of
the customer's personal data in the audit trail (the same as the API's
`/api/v1/notify/messages`); staff see their departments' messages, admins every one. The
search is a GET form, so an error is shown on it, naming the field, with the input kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.params import FromQuery

from services.gateway.auth import allow
from services.gateway.web.ops import fetch
from services.gateway.web.render import local_time, page
from shared.contracts import desk as dk
from shared.contracts import notify as nt
from shared.errors import ValidationFailed

Req = Request[Any, Any, Any]
STAFF = allow("staff", "admin")  # who may see what was sent (notify.v1.customer_messages)
PAGE_SIZE = 50
# The reasons the notification service gives for a message it did not send (model.py).
SKIP_REASONS = {
    "no e-mail address": "notify_reason_no_email",
    "opted out": "notify_reason_opted_out",
}


@dataclass(frozen=True)
class MessageRow:
    """One message as a row of the page's table."""

    message_id: str
    when: str
    channel: str  # email | sms
    kind: str
    merchant_id: str
    address: str
    status: str  # sent | failed | retrying | pending | skipped
    sent_at: str
    attempts: int
    reason: str  # the service's own words (English, shown as such)
    reason_key: str  # a known reason in the page's language, else ""


def status_of(message: nt.MessageView) -> str:
    """sent, failed (for good), retrying (an attempt failed, another comes), pending, skipped."""
    if message.state == "pending" and message.attempts > 0:
        return "retrying"
    return message.state


def row_of(message: nt.MessageView) -> MessageRow:
    reason = message.last_error or ""
    return MessageRow(
        message_id=str(message.message_id),
        when=local_time(message.created_at),
        channel=message.channel,
        kind=message.kind,
        merchant_id=message.merchant_id,
        address=message.address or "",
        status=status_of(message),
        sent_at=local_time(message.sent_at) if message.sent_at else "",
        attempts=message.attempts,
        reason=reason,
        reason_key=SKIP_REASONS.get(reason, ""),
    )


def _more_link(customer: str, name: str, offset: int, count: int) -> str | None:
    if count < PAGE_SIZE:
        return None
    kept = {k: v for k, v in (("customer", customer), ("name", name)) if v}
    return "/staff/messages?" + urlencode({**kept, "offset": offset + PAGE_SIZE})


@get("/staff/messages", name="web:messages", guards=STAFF)
async def messages_page(
    request: Req,
    q: FromQuery[str] = "",
    customer: FromQuery[str] = "",
    name: FromQuery[str] = "",
    offset: FromQuery[int] = 0,
) -> Response[str]:
    query, customer = q.strip(), customer.strip()
    kept = {"values": {"q": [query]}}
    hits: list[dk.DeskCustomerHit] = []
    rows: list[MessageRow] = []
    try:
        if query:
            hits = (await fetch(request, "desk_search", dk.DeskSearchReply, q=query)).customers
        if customer:
            found = await fetch(
                request,
                "customer_messages",
                nt.MessageList,
                customer=customer,
                limit=PAGE_SIZE,
                offset=max(offset, 0),
            )
            rows = [row_of(m) for m in found.messages]
    except ValidationFailed as refused:
        form = {**kept, "code": refused.code, "field": "q", "details": refused.details}
        return page(
            request, "staff/messages.html", status_code=422, form=form, q=query, searched=False,
            hits=[], customer="", name="", rows=[], more=None,
        )  # fmt: skip
    return page(
        request,
        "staff/messages.html",
        form=kept,
        q=query,
        searched=bool(query),
        hits=hits,
        customer=customer,
        name=name.strip(),
        rows=rows,
        more=_more_link(customer, name.strip(), max(offset, 0), len(rows)),
    )


ROUTES = [messages_page]
