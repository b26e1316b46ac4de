"""The resident's contact details page: where and in which language the city's messages reach
them (e-mail, phone), and whether they want reminders (`notify.v1.get_contact`,
`set_contact`). The form posts and redirects (303); a refused value comes back on the form,
named, with the input kept (forms.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from services.gateway.web.forms import read_form
from services.gateway.web.ops import fetch
from services.gateway.web.render import page
from services.gateway.web.resident import _back, _signed_in
from shared.contracts import notify as nt

Req = Request[Any, Any, Any]


@get("/contact", name="web:contact")
async def contact(request: Req) -> Response[str]:
    _signed_in(request)
    mine = await fetch(request, "get_contact", nt.ContactView)
    return page(request, "contact.html", contact=mine)


@post("/contact", name="web:set_contact")
async def set_contact(request: Req) -> Redirect:
    _signed_in(request)
    form = await read_form(request)
    await fetch(
        request,
        "set_contact",
        nt.ContactView,
        checked_as=nt.SetContactRequest,
        email=str(form.get("email") or "").strip() or None,
        phone=str(form.get("phone") or "").replace(" ", "") or None,
        locale=str(form.get("locale") or "") or None,
        reminders="reminders" in form,
    )
    return _back("/contact", "done_saved")


ROUTES = [contact, set_contact]
