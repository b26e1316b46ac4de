"""Messages to residents: which events tell whom what, their states and when to try again.

Pure rules: no I/O. A message is `pending` until the mail server accepts it (`sent`), refuses
it for good (`failed`, a 5xx answer or given up after `give_up_after_s`) or there is nobody to
tell (`skipped`: no contact details, or the resident opted out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shared.state_machine import StateMachine

MessageState = Literal["pending", "sent", "failed", "skipped"]

TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "accepted"): "sent",
    ("pending", "retry"): "pending",
    ("pending", "refused"): "failed",
    ("pending", "gave_up"): "failed",
}
MESSAGES: StateMachine[str, str] = StateMachine(
    TRANSITIONS, "a {state} message cannot take {event}"
)


def transition(state: str, event: str) -> str:
    return MESSAGES.step(state, event)


Outcome = Literal["accepted", "transient", "permanent"]


def smtp_outcome(code: int | None) -> Outcome:
    """What an SMTP reply code means for the message: no code (the server could not be
    reached, the connection dropped, a timeout) and 4xx are worth another try; 5xx is a
    refusal for good; 2xx is accepted."""
    if code is None or 400 <= code < 500:
        return "transient"
    if 500 <= code < 600:
        return "permanent"
    return "accepted"


def retry_delay(attempts: int, delays: Sequence[float]) -> float:
    """Seconds to wait after the `attempts`-th failed try: the schedule, then its last step."""
    if not delays:
        return 60.0
    return float(delays[min(max(attempts, 1), len(delays)) - 1])


DESK_CUSTOMER_PREFIX = "desk:"  # a customer a clerk made at the service desk (cart's)


def signs_in(customer: str) -> bool:
    """Whether the customer has an online account: a service-desk customer (`desk:<uuid>`)
    was made by a clerk and signs in nowhere, so their mails link to no page of their own."""
    return not customer.startswith(DESK_CUSTOMER_PREFIX)


@dataclass(frozen=True)
class Recipient:
    customer: str
    email: str | None
    phone: str | None
    locale: str
    reminders: bool


# The e-mails each event gives (kind -> whether a resident may opt out of it).
EMAIL_KINDS = {
    "reservation_confirmed": False,
    "reservation_cancelled": False,
    "reservation_approved": False,
    "reservation_denied": False,
    "order_paid": False,
    "refund_succeeded": False,
    "library_payment_registered": False,
    "gis_file_ready": False,
    "reminder": True,
    "payment_due": True,  # a reminder too: before an unpaid order's payment window closes
    "waitlist_offered": False,
}


def email_skip_reason(kind: str, recipient: Recipient | None) -> str | None:
    """Why an e-mail of `kind` goes to nobody (None: it is sent)."""
    if recipient is None or not recipient.email:
        return "no e-mail address"
    if EMAIL_KINDS.get(kind) and not recipient.reminders:
        return "opted out"
    return None
