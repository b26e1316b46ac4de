"""E-mail over SMTP (aiosmtplib): one message per call, its outcome as the domain sees it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
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
    """Sends each mail on an SMTP connection kept open for the next ones (up to `keep` idle
    connections, each for at most `idle_s`): a connection, its TLS handshake and its login are
    paid once for many mails, not for every mail. A connection that went stale meanwhile (the
    server closed it) is replaced and the mail sent again on a new one; a connection is kept
    only after a mail it carried was accepted."""

    def __init__(self, config: SmtpConfig, keep: int = 4, idle_s: float = 30.0) -> None:
        self.config = config
        self.keep = keep
        self.idle_s = idle_s
        self._local_hostname: str | None = None
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # (connection, idle since)

    async def local_hostname(self) -> str:
        """The name we greet the server with (EHLO), looked up once: aiosmtplib would ask
        `socket.getfqdn()` (a reverse DNS lookup in a thread) for every connection."""
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def send(self, mail: EmailMessage) -> SendResult:
        reused = self._take_idle()
        if reused is not None:
            try:
                return await self._send_on(reused, mail)
            except _Stale:
                pass  # closed by the server while idle: once more on a new connection
        try:
            client = await self._connect()
        except aiosmtplib.SMTPAuthenticationError as exc:  # our settings, not the message
            return SendResult("transient", exc.code, "authentication failed")
        except aiosmtplib.SMTPResponseException as exc:
            return SendResult(smtp_outcome(exc.code), exc.code, _short(exc.message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult("transient", None, type(exc).__name__)
        try:
            return await self._send_on(client, mail)
        except _Stale as stale:
            return SendResult("transient", None, stale.kind)

    async def close(self, within_s: float = 2.0) -> None:
        """Says goodbye (QUIT) on the connections kept open, all at once and for at most
        `within_s`: a server slow to answer must not hold notify's shutdown (a deployment's
        grace period) for a timeout per connection; the connections are closed after it."""
        clients = [client for client, _ in self._idle]
        self._idle = []
        if not clients:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await asyncio.gather(*(_quit(client) for client in clients))
        for client in clients:
            client.close()

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and now - since < self.idle_s:
                return client
            client.close()
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        c = self.config
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            local_hostname=await self.local_hostname(),
            username=c.username,
            password=c.password,
            start_tls=c.start_tls,
            use_tls=c.use_tls,
            timeout=c.timeout_s,
        )
        await client.connect()  # with STARTTLS and the login, when configured
        return client

    async def _send_on(self, client: aiosmtplib.SMTP, mail: EmailMessage) -> SendResult:
        """One mail on `client`; the connection is kept for the next mail only if it was
        accepted. Raises _Stale when the connection was lost before the server answered."""
        try:
            errors, _ = await client.send_message(mail)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
            client.close()
            raise _Stale(type(exc).__name__) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            client.close()
            codes = [r.code for r in exc.recipients]
            worst = min(codes) if codes else None  # one 4xx among them: try again
            return SendResult(smtp_outcome(worst), worst, "recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            return SendResult(smtp_outcome(exc.code), exc.code, _short(exc.message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client.close()
            return SendResult("transient", None, type(exc).__name__)
        except BaseException:
            client.close()
            raise
        if errors:  # some recipients refused (we send to one, so this is that one)
            client.close()
            code = min(code for code, _ in errors.values())
            return SendResult(smtp_outcome(code), code, "recipient refused")
        if len(self._idle) < self.keep:
            self._idle.append((client, time.monotonic()))
        else:
            await _quit(client)
        return SendResult("accepted", 250)


class _Stale(Exception):
    """The connection was closed under a mail before the server answered it."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def _short(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""
