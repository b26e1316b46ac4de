"""The SMS provider interface: one message per call, its outcome as the domain sees it
(`accepted`, `transient`: try again with the back-off, `permanent`: failed for good)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from services.notify.mailer import SendResult


@dataclass(frozen=True)
class Sms:
    message_id: uuid.UUID  # also the provider's idempotency key
    to: str  # E.164
    body: str
    sender: str  # the alphanumeric sender id shown to the resident


class SmsProvider(Protocol):
    async def send(self, sms: Sms) -> SendResult: ...

    async def close(self) -> None: ...


def http_outcome(status: int | None) -> SendResult:
    """What an SMS gateway's HTTP status means: no answer (timeout, refused connection) and
    5xx are worth another try, and so are 408 and 429 (the gateway asks us to come back);
    any other 4xx is a refusal for good (a bad number, bad credentials); 2xx accepted."""
    if status is None:
        return SendResult("transient", None, "no answer")
    if 200 <= status < 300:
        return SendResult("accepted", status)
    if status in (408, 429) or status >= 500:
        return SendResult("transient", status, f"HTTP {status}")
    return SendResult("permanent", status, f"HTTP {status}")
