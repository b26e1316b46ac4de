"""The development mailbox: `/dev/mail` lists the mails `make run`'s local catcher kept
(services/notify/catcher.py writes each as an `.eml` file under DATA_DIR/mail), newest first;
`/dev/mail/{name}` shows one: its headers, its text part and the names of its attachments
(the `.ics`). A newcomer sees the confirmation of the booking they just made.

Mounted only when ENV=development (create_app): the mails are residents' messages. The text
part is shown escaped, never the HTML part (no markup of a mail runs on our origin)."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from markupsafe import escape

NAME = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{8}\.eml$")
SHOWN = 100


def _mailbox(request: Request[Any, Any, Any]) -> Path:
    return Path(request.app.state.common_settings.data_dir) / "mail"


def _read(path: Path) -> EmailMessage:
    with path.open("rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _page(title: str, body: str) -> Response[str]:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/static/web/site.css">'
        f'</head><body><main class="wrap"><h1>{escape(title)}</h1>{body}</main></body></html>'
    )
    return Response(html, media_type="text/html")


@get("/mail", name="dev:mail")
async def mailbox(request: Request[Any, Any, Any]) -> Response[str]:
    folder = _mailbox(request)
    names = sorted((p.name for p in folder.glob("*.eml") if NAME.match(p.name)), reverse=True)
    if not names:
        return _page("Mailbox (development)", "<p>No mail yet. Book something!</p>")
    rows = []
    for name in names[:SHOWN]:
        mail = _read(folder / name)
        subject = escape(mail.get("Subject", "") or name)
        rows.append(
            f"<tr><td>{escape(mail.get('Date', ''))}</td><td>{escape(mail.get('To', ''))}</td>"
            f'<td><a href="/dev/mail/{name}">{subject}</a></td></tr>'
        )
    table = (
        '<div class="table-scroll" role="region" aria-label="Mails" tabindex="0"><table>'
        '<thead><tr><th scope="col">Date</th><th scope="col">To</th>'
        '<th scope="col">Subject</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
    )
    note = f"<p>{len(names)} mails kept in {escape(str(folder))} (newest first).</p>"
    return _page("Mailbox (development)", note + table)


@get("/mail/{name:str}", name="dev:mail_one")
async def one_mail(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[str]:
    path = _mailbox(request) / name
    if not NAME.match(name) or not path.is_file():
        raise NotFoundException(f"no mail {name}")
    mail = _read(path)
    headers = "".join(
        f"<dt>{h}</dt><dd>{escape(mail.get(h, ''))}</dd>" for h in ("From", "To", "Date", "Subject")
    )
    body = mail.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    attached = [part.get_filename() or part.get_content_type() for part in mail.iter_attachments()]
    files = (
        "<p>Attached: " + ", ".join(str(escape(a)) for a in attached) + "</p>" if attached else ""
    )
    content = (
        f'<p><a href="/dev/mail">All mails</a></p><dl>{headers}</dl>{files}'
        f"<pre>{escape(text)}</pre>"
    )
    return _page(str(mail.get("Subject", name)), content)


def dev_mail_router() -> Router:
    return Router("/dev", route_handlers=[mailbox, one_mail], include_in_schema=False)
