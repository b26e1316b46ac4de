"""E-mail over SMTP (aiosmtplib): one message per call, its outcome as the domain sees it."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from services.notify.domain.model import Outcome, smtp_outcome


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    code: int | None = None
    detail: str = ""  # what the server said (never the message or its address)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    start_tls: bool | None = None  # None: when the server offers it
    use_tls: bool = False
    timeout_s: float = 10.0


class Mailer:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._local_hostname: str | None = None

    async def local_hostname(self) -> str:
        """The name we greet the server with (EHLO), looked up once: aiosmtplib would ask
        `socket.getfqdn()` (a reverse DNS lookup in a thread) for every connection."""
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def send(self, mail: EmailMessage) -> SendResult:
        c = self.config
        try:
            errors, _ = await aiosmtplib.send(
                mail,
                hostname=c.host,
                port=c.port,
                local_hostname=await self.local_hostname(),
                username=c.username,
                password=c.password,
                start_tls=c.start_tls,
                use_tls=c.use_tls,
                timeout=c.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            worst = min(codes) if codes else None  # one 4xx among them: try again
            return SendResult(smtp_outcome(worst), worst, "recipient refused")
        except aiosmtplib.SMTPAuthenticationError as exc:  # our settings, not the message
            return SendResult("transient", exc.code, "authentication failed")
        except aiosmtplib.SMTPResponseException as exc:
            return SendResult(smtp_outcome(exc.code), exc.code, _short(exc.message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult("transient", None, type(exc).__name__)
        if errors:  # some recipients refused (we send to one, so this is that one)
            code = min(code for code, _ in errors.values())
            return SendResult(smtp_outcome(code), code, "recipient refused")
        return SendResult("accepted", 250)


def _short(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""
