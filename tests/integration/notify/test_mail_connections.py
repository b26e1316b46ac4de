"""Notify's mailer keeps its SMTP connection for the next mails (a connection, TLS handshake
and login per mail cost the most of sending one), against a real SMTP server (aiosmtpd): many
mails on one connection, a connection the server closed meanwhile replaced without losing or
doubling a mail, and a connection not kept after a refusal."""

from __future__ import annotations

import asyncio
import time
import uuid
from email.message import EmailMessage

from services.notify.mailer import Mailer, SmtpConfig
from tests.integration.notify.smtp import SmtpServer


def mail(n: int) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "varaukset@turku.fi"
    m["To"] = f"resident.{n}@example.fi"
    m["Subject"] = f"Mail {n}"
    m["Message-ID"] = f"<{uuid.uuid4()}@turku.fi>"
    m.set_content(f"Mail {n}")
    return m


def mailer(smtp: SmtpServer, idle_s: float = 30.0) -> Mailer:
    config = SmtpConfig(host="127.0.0.1", port=smtp.port, start_tls=False, timeout_s=2.0)
    return Mailer(config, idle_s=idle_s)


async def test_mails_in_a_row_go_on_one_connection(smtp: SmtpServer) -> None:
    sender = mailer(smtp)
    for n in range(5):
        assert (await sender.send(mail(n))).outcome == "accepted"
    assert len(smtp.catcher.mails) == 5
    assert len(set(smtp.catcher.peers)) == 1
    await sender.close()


async def test_a_connection_the_server_closed_is_replaced_and_the_mail_sent_once(
    smtp: SmtpServer,
) -> None:
    sender = mailer(smtp)
    assert (await sender.send(mail(1))).outcome == "accepted"
    smtp.stop()  # the kept connection is closed by the server going away
    smtp.start()
    assert (await sender.send(mail(2))).outcome == "accepted"
    assert [m["Subject"] for m in smtp.catcher.mails] == ["Mail 1", "Mail 2"]
    assert len(set(smtp.catcher.peers)) == 2
    await sender.close()


async def test_a_server_down_is_a_transient_failure_and_up_again_the_mail_goes(
    smtp: SmtpServer,
) -> None:
    sender = mailer(smtp)
    assert (await sender.send(mail(1))).outcome == "accepted"
    smtp.stop()
    result = await sender.send(mail(2))
    assert result.outcome == "transient"
    smtp.start()
    assert (await sender.send(mail(2))).outcome == "accepted"
    assert [m["Subject"] for m in smtp.catcher.mails] == ["Mail 1", "Mail 2"]
    await sender.close()


async def test_a_connection_is_not_kept_after_a_refusal(smtp: SmtpServer) -> None:
    sender = mailer(smtp)
    smtp.catcher.answer = "451 4.3.0 busy, try later"
    result = await sender.send(mail(1))
    assert (result.outcome, result.code) == ("transient", 451)
    smtp.catcher.answer = None
    assert (await sender.send(mail(2))).outcome == "accepted"
    assert (await sender.send(mail(3))).outcome == "accepted"
    first, second, third = smtp.catcher.peers
    assert first != second  # a new connection after the refusal, then kept
    assert second == third
    await sender.close()


async def test_a_connection_idle_too_long_is_not_used_again(smtp: SmtpServer) -> None:
    sender = mailer(smtp, idle_s=0.0)
    for n in range(3):
        assert (await sender.send(mail(n))).outcome == "accepted"
    assert len(set(smtp.catcher.peers)) == 3
    await sender.close()


async def test_a_server_slow_to_say_goodbye_does_not_hold_the_shutdown(smtp: SmtpServer) -> None:
    """Notify stopping (a deployment) says QUIT on its kept connections: all at once, for at
    most two seconds, then closes them (one timeout per connection could pass a grace period)."""
    sender = mailer(smtp)
    results = await asyncio.gather(*(sender.send(mail(n)) for n in range(3)))
    assert [r.outcome for r in results] == ["accepted"] * 3
    smtp.catcher.quit_delay_s = 30.0
    started = time.monotonic()
    await sender.close(within_s=0.5)
    assert time.monotonic() - started < 2.0
    assert (await sender.send(mail(9))).outcome == "accepted"  # still usable: a new connection
