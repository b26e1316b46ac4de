"""Jinja2 rendering of the web pages: the page context (language, principal, messages)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import msgspec
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import Request, Response
from markupsafe import Markup, escape

from services.gateway.auth import principal_of
from services.gateway.web import i18n
from services.gateway.web.forms import FORM_COOKIE, REFUND_COOKIE, form_state
from shared.contracts.booking import LocalizedText

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HELSINKI = ZoneInfo("Europe/Helsinki")


def money(cents: Any, lang: str = "fi") -> str:
    """Integer cents as a price: `12,50 €` (fi, sv) or `€12.50` (en)."""
    if cents is None:
        return ""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    if lang == "en":
        return f"{sign}€{euros:,}.{rest:02d}"
    grouped = f"{euros:,}".replace(",", "\u00a0")
    return f"{sign}{grouped},{rest:02d}\u00a0€"


def local_time(value: Any, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """An ISO timestamp shown in Turku's time zone."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        return moment.strftime(fmt)
    return moment.astimezone(HELSINKI).strftime(fmt)


def today(now: datetime | None = None) -> date:
    """Today in Turku (the server's clock may run in UTC: after 22:00 that is still
    yesterday), as of instant `now` when given."""
    return (now or datetime.now(UTC)).astimezone(HELSINKI).date()


def local_day(value: Any) -> date | None:
    """The local (Turku) date of an ISO timestamp."""
    if not value:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(HELSINKI).date() if moment.tzinfo else moment.date()


def percent_sign(lang: str) -> str:
    """What follows a number as a percentage in `lang`: `24 %` in Finnish and Swedish (a
    space that does not break the line), `24%` in English (CLDR's patterns)."""
    return "%" if lang == "en" else "\u00a0%"


def percent(basis_points: Any, lang: str = "fi") -> str:
    """Basis points as a VAT rate in `lang`: `13,5 %` (fi, sv) or `13.5%` (en); `24 %`."""
    bp = int(basis_points or 0)
    whole, frac = divmod(bp, 100)
    if frac == 0:
        return f"{whole}{percent_sign(lang)}"
    point = "." if lang == "en" else ","
    return f"{whole}{point}{f'{frac:02d}'.rstrip('0')}{percent_sign(lang)}"


@pass_context
def _percent_in_page_language(context: Context, basis_points: Any) -> str:
    return percent(basis_points, str(context.get("lang") or "fi"))


def expiry_time(value: Any, now: datetime | None = None) -> str:
    """When a hold ends, in Turku's time: the clock time alone when that is today, else
    with its date (an approved request waits for payment up to days)."""
    if not value:
        return ""
    if local_day(value) == today(now):
        return local_time(value, "%H:%M")
    return local_time(value)


def localized(value: Any, lang: str) -> str:
    """A `LocalizedText` (the struct, or a dict {fi, sv, en}), a catalogue entry (name_fi,
    name_sv, name_en) or a plain string."""
    if isinstance(value, LocalizedText):
        return str(getattr(value, lang, None) or value.fi)
    if isinstance(value, msgspec.Struct) and hasattr(value, "name_fi"):  # a catalogue entry
        return str(getattr(value, f"name_{lang}", None) or value.name_fi)
    if isinstance(value, dict):
        if "name_fi" in value:  # a catalogue entry with name_fi / name_sv / name_en
            return str(value.get(f"name_{lang}") or value["name_fi"])
        return str(value.get(lang) or value.get("fi") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def merchant_name(merchant_id: Any, lang: str, service_name: str | None = None) -> str:
    """A merchant's name in `lang` from the catalogues (`merchant_sports`); the name the
    service gave (in Finnish) only for a merchant the catalogues do not know, else its id."""
    if not merchant_id:
        return ""
    key = f"merchant_{merchant_id}"
    if i18n.known(key):
        return i18n.t(lang, key)
    return service_name or str(merchant_id)


def iso(value: Any) -> str:
    """A timestamp as the services send it (RFC 3339, as in a reply's JSON), for form values
    that go back to a service."""
    if value is None:
        return ""
    return str(msgspec.to_builtins(value))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        local_time=local_time,
        percent=_percent_in_page_language,
        expiry_time=expiry_time,
        urlquote=quote,
        iso=iso,
    )
    return env


_ENV = _environment()


def language_of(request: Request[Any, Any, Any]) -> str:
    principal = principal_of(request)
    return i18n.choose(
        request.query_params.get("lang"),
        request.cookies.get(i18n.LANG_COOKIE),
        request.headers.get("accept-language", ""),
        principal.locale if principal is not None else None,
    )


def _form_context(state: dict[str, Any] | None, lang: str) -> dict[str, Any]:
    """The error summary, the message beside the field and the kept input of a refused form."""
    values: dict[str, list[str]] = (state or {}).get("values") or {}
    error = None
    # every refused field, in the form's order: the one the service named first, then the
    # others refused with it (`details["also"]`), each with its message
    refused: dict[str, str] = {}
    if state is not None and state.get("code"):
        code = state.get("code")
        field = str(state.get("field") or "")
        given = state.get("details")
        details: dict[str, Any] = given if isinstance(given, dict) else {}
        refused[field] = i18n.error_message(lang, code, field, details)
        also = details.get("also")
        for other in also if isinstance(also, list) else ():
            if isinstance(other, str) and other and other not in refused:
                refused[other] = i18n.error_message(lang, code, other, None)
        error = {
            "code": str(code or ""),
            "field": field,
            "label": i18n.field_label(lang, field),
            "anchor": i18n.FIELD_ANCHORS.get(field, field),
            "message": refused[field],
            "fields": list(refused),
            "more": [
                {
                    "field": other,
                    "label": i18n.field_label(lang, other),
                    "anchor": i18n.FIELD_ANCHORS.get(other, other),
                    "message": message,
                }
                for other, message in refused.items()
                if other != field
            ],
        }

    def kept(name: str, default: Any = "") -> Any:
        found = values.get(name)
        return found[0] if found else default

    def kept_all(name: str) -> list[str]:
        return list(values.get(name) or [])

    def field_error(*names: str) -> Markup:
        named = next((name for name in names if name in refused), None)
        if error is None or named is None:
            return Markup("")
        return Markup(
            '<p class="field-error" id="error-{0}">'
            '<span class="visually-hidden">{1}:</span> {2}</p>'
        ).format(named, escape(i18n.t(lang, "error")), refused[named])

    def invalid(name: str) -> Markup:
        """An input's attributes when its field was refused (none otherwise)."""
        if error is None or name not in refused:
            return Markup("")
        return Markup(' aria-invalid="true" aria-describedby="error-{0}"').format(name)

    def posted_from(name: str, value: Any) -> bool:
        """Whether the kept input is that of the row's form whose `name` is `value` (a page
        with a form per row: the refused one shows what was typed and the error)."""
        return state is not None and kept(name) == str(value)

    return {
        "form_error": error,
        "kept": kept,
        "kept_all": kept_all,
        "field_error": field_error,
        "invalid": invalid,
        "posted_from": posted_from,
        "has_input": state is not None,
    }


_POST_FORM = re.compile(r'(<form\b[^>]*\bmethod="post"[^>]*>)')


def with_return_to(html: str, request: Request[Any, Any, Any]) -> str:
    """Every POST form of the page names the page (`return_to`), so that an error is answered
    on it even when the browser sends no Referer (a privacy setting or policy). A page whose
    form names another page for its errors (the summary step) keeps that."""
    if request.method != "GET" or 'name="return_to"' in html:
        return html
    query = "&".join(
        p for p in request.url.query.split("&") if p and not p.startswith(("done=", "refund="))
    )
    here = request.url.path + (f"?{query}" if query else "")
    field = Markup('<input type="hidden" name="return_to" value="{}">').format(here)
    return _POST_FORM.sub(lambda m: m.group(1) + str(field), html)


def page(
    request: Request[Any, Any, Any],
    template: str,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
    **values: Any,
) -> Response[str]:
    """Render `web/<template>` with the common context. `form`: a refused form's state
    (`values`, `code`, `field`) when the page itself found the error (a GET form)."""
    lang = language_of(request)
    principal = principal_of(request)
    # The sign-in page passes the kept input on to the page the visitor returns to.
    state = (
        form if form is not None else form_state(request) if template != "sign_in.html" else None
    )
    if state is None and "slot" in request.query_params:  # "Change" from the summary
        chosen = ("slot", "length", "places", "repeat")
        state = {
            "values": {k: [request.query_params[k]] for k in chosen if k in request.query_params}
        }
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context = {
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "language_names": i18n.LANGUAGE_NAMES,
        "t": lambda key: i18n.t(lang, key),
        "money": lambda cents: money(cents, lang),
        "localized": lambda value: localized(value, lang),
        "weekday": lambda day: i18n.WEEKDAYS[lang][day.weekday()],
        "weekday_of": lambda moment: (
            i18n.WEEKDAYS[lang][day.weekday()] if (day := local_day(moment)) else ""
        ),
        "state": lambda value: i18n.t(lang, f"state_{value}") if value else "",
        "merchant_name": lambda mid, service_name=None: merchant_name(mid, lang, service_name),
        "licence_name": lambda kind: i18n.licence_name(lang, kind),
        "debit_type_name": lambda code: i18n.debit_type_name(lang, code),
        "principal": principal,
        "contact_person": bool(request.state.get("contact_person")),  # web/contact_persons.py
        "here": here,
        "here_quoted": quote(here, safe=""),
        "notice": request.query_params.get("done"),
        **_form_context(state, lang),
        **values,
    }
    if template == "error.html":  # the error in the visitor's words, never developer text
        field = str(values.get("field") or "")
        text = i18n.error_message(lang, values.get("code"), field, values.get("details"))
        context["error_text"] = f"{i18n.field_label(lang, field)}: {text}" if field else text
    html = with_return_to(_ENV.get_template(f"web/{template}").render(context), request)
    response = Response(
        html,
        status_code=status_code,
        media_type="text/html",  # Litestar adds `; charset=utf-8` to text/*
        headers={"Content-Language": lang, "Vary": "Accept-Language, Cookie"},
    )
    if request.cookies.get(FORM_COOKIE) and template != "sign_in.html":  # shown once
        response.delete_cookie(FORM_COOKIE, path="/")
    if request.cookies.get(REFUND_COOKIE) and request.method == "GET":  # shown once
        response.delete_cookie(REFUND_COOKIE, path="/")
    return response
