"""The development mailbox (`/dev/mail`): the mails the local catcher kept, listed and shown
(text part escaped, attachments named); only in development; no path outside the mailbox."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from services.gateway.app import create_app
from services.notify.catcher import MailCatcher
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, gateway_settings

pytestmark = pytest.mark.timeout(60)


def settings(common: CommonSettings, env: str, data: Path) -> CommonSettings:
    return CommonSettings(
        env=env, database_url=common.database_url, nats_url=common.nats_url, data_dir=str(data)
    )


async def test_the_caught_mails_are_listed_and_shown_in_development(
    common_settings: CommonSettings, tmp_path: Path
) -> None:
    catcher = MailCatcher(tmp_path / "mail").start()
    try:
        mail = EmailMessage()
        mail["From"], mail["To"] = "varaukset@turku.fi", "aino@example.fi"
        mail["Subject"] = "Varaus vahvistettu: Impivaaran sali"
        mail.set_content("Hei Aino, <script>alert(1)</script> varauksesi on vahvistettu.")
        mail.add_attachment(
            b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
            maintype="text",
            subtype="calendar",
            filename="varaus.ics",
        )
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=catcher.port)
    finally:
        catcher.stop()
    app = create_app(settings(common_settings, "development", tmp_path), gateway_settings())
    async with GatewayClient(app) as client:
        listed = await client.get("/dev/mail")
        assert listed.status_code == 200, listed.text
        assert "Varaus vahvistettu: Impivaaran sali" in listed.text
        assert "aino@example.fi" in listed.text
        [name] = [p.name for p in (tmp_path / "mail").glob("*.eml")]
        shown = await client.get(f"/dev/mail/{name}")
        assert shown.status_code == 200
        assert "varauksesi on vahvistettu" in shown.text
        assert "<script>" not in shown.text  # the text part, escaped
        assert "varaus.ics" in shown.text
        for bad in ("..%2F..%2Fdev-issuer-key.pem", "x.eml", f"{name}.txt"):
            assert (await client.get(f"/dev/mail/{bad}")).status_code == 404


async def test_there_is_no_mailbox_outside_development(
    common_settings: CommonSettings, tmp_path: Path
) -> None:
    app = create_app(settings(common_settings, "test", tmp_path), gateway_settings())
    async with GatewayClient(app) as client:
        assert (await client.get("/dev/mail")).status_code == 404
