"""Errors answered on the form (GOV.UK pattern): back to the page the form was on, with an error
summary linking to the field, the message beside it in the page's language, and the input kept.

A form route reads its fields with `read_form`, which keeps them on the request. When the
service refuses the post, `back_to_form` sends the visitor back (303) to the page the form was
posted from, carrying the error and the input in a short-lived cookie that the next page shows
once (`form_state`). Secrets (PINs, passwords) and the form's idempotency key are never kept.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect

from shared.errors import ServiceError

Req = Request[Any, Any, Any]
FORM_COOKIE = "form_error"
_FORM_STATE = "web_form"
_SECRET = ("pin", "password", "key", "token")
_LIMIT = 3000  # bytes of kept input: a cookie holds about 4 kB
# Details a message may show; `reason`: which check a value failed (a page names it); `also`:
# the other fields refused at the same time (listed in the summary, each marked).
_DETAILS = ("attempts_left", "locked_for_minutes", "reason", "also")


async def read_form(request: Req) -> FormMultiDict:
    """The posted form, kept on the request so that an error can send the input back."""
    form = await request.form()
    request.state[_FORM_STATE] = form
    return form


def _kept_values(form: FormMultiDict | None) -> dict[str, list[str]]:
    kept: dict[str, list[str]] = {}
    if form is None:
        return kept
    size = 0
    for name, value in form.multi_items():
        if not isinstance(value, str) or any(s in name.lower() for s in _SECRET):
            continue
        size += len(name) + len(value)
        if size > _LIMIT:
            break
        kept.setdefault(name, []).append(value)
    return kept


def _return_to(form: FormMultiDict | None) -> str | None:
    """The page a form names for its errors (`return_to`: the summary sends them to the week,
    where the time is chosen again), when it is one of ours."""
    target = str(form.get("return_to") or "") if form is not None else ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def origin_page(request: Req) -> str | None:
    """The path (and query) of our own page the form was posted from, if the browser said."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if not referer or parts.netloc != request.headers.get("host", ""):
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return None
    query = "&".join(
        p for p in parts.query.split("&") if p and not p.startswith(("done=", "refund="))
    )
    return path + (f"?{query}" if query else "")


def back_to_form(
    request: Req,
    exc: ServiceError,
    to: str | None = None,
    values: dict[str, str] | None = None,
) -> Redirect | None:
    """A 303 back to the form with the error and the input, or None when the error is not the
    visitor's to fix on a form (not a form post, another site, a server-side failure).

    `to` and `values`: a page of our own and its input, for a step reached by GET (the
    summary) whose error belongs on the form before it."""
    if not 400 <= exc.status < 500 or exc.status == 401:
        return None
    if to is None and request.method != "POST":
        return None
    form = request.state.get(_FORM_STATE)
    target = to or _return_to(form) or origin_page(request)
    if target is None:
        return None
    kept = {k: [v] for k, v in values.items()} if values is not None else _kept_values(form)
    state = {
        "code": exc.code,
        "field": exc.field or "",
        "details": {k: exc.details[k] for k in _DETAILS if k in exc.details},
        "values": kept,
    }
    raw = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()
    response = Redirect(path=target, status_code=303)
    response.set_cookie(FORM_COOKIE, raw, max_age=120, path="/", samesite="lax", httponly=True)
    return response


def keep_for_sign_in(request: Req) -> Redirect:
    """A form posted signed out: to the sign-in page, which brings the visitor back to the
    page the form was on with the choice kept (no error: nothing was wrong with it)."""
    target = _return_to(request.state.get(_FORM_STATE)) or origin_page(request) or "/"
    state = {"values": _kept_values(request.state.get(_FORM_STATE))}
    raw = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()
    response = Redirect(path=f"/sign-in?next={quote(target, safe='/')}", status_code=303)
    response.set_cookie(FORM_COOKIE, raw, max_age=900, path="/", samesite="lax", httponly=True)
    return response


REFUND_COOKIE = "cancel_refund"


def carry_refund(response: Redirect, reservation_id: object, cents: int) -> Redirect:
    """What a cancellation gave back, as booking answered it, carried to the page the 303
    leads to (`carried_refund`, shown once) in a short-lived cookie of ours: never in the URL,
    where a link could make the page promise any amount."""
    value = f"{reservation_id}:{int(cents)}"
    response.set_cookie(REFUND_COOKIE, value, max_age=120, path="/", samesite="lax", httponly=True)
    return response


def cancelled_already(exc: ServiceError) -> bool:
    """Booking's answer to a second cancel with another key (a second tab, a clerk and the
    resident at once): the first cancellation and its refund stand; the page says so."""
    return exc.code == "conflict" and exc.details.get("reason") == "already_cancelled"


def no_longer_payable(exc: ServiceError) -> str | None:
    """The notice for an order that can no longer be paid (payment's `details.reason`), shown
    on the order's page instead of an error: its time to pay ran out (the window closed, or
    the order was cancelled meanwhile), or it is paid already (another tab, a late provider)."""
    reason = exc.details.get("reason")
    if (exc.code, reason) in (("gone", "window_closed"), ("conflict", "cancelled")):
        return "done_payment_time_ended"
    if (exc.code, reason) == ("conflict", "paid"):
        return "done_paid_already"
    return None


def carried_refund(request: Req) -> tuple[str, int] | None:
    """The cancelled reservation's id and its refund in cents carried by `carry_refund`."""
    reservation_id, _, cents = request.cookies.get(REFUND_COOKIE, "").partition(":")
    if not reservation_id or not cents.isdigit() or len(cents) > 12:
        return None
    return reservation_id, int(cents)


def form_state(request: Req) -> dict[str, Any] | None:
    """The error and input carried back to this page (None when there is none)."""
    raw = request.cookies.get(FORM_COOKIE)
    if not raw:
        return None
    try:
        state = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return None
    if not isinstance(state, dict) or not isinstance(state.get("values", {}), dict):
        return None
    return state
