"""Staff keep organisations as customers (issue 19): `/staff/organisations` lists and finds
them, `/staff/organisations/new` and `/staff/organisations/{id}` are the form (name, business
ID, customer group, billing address, e-invoice address and operator, contact persons).

The service checks everything (the business ID with python-stdnum); a refusal comes back to
the form beside the field it names, in the page's language, with the input kept."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.gateway.auth import allow
from services.gateway.web.forms import read_form
from services.gateway.web.ops import fetch, new_key
from services.gateway.web.render import page
from shared.contracts import invoicing as iv
from shared.errors import ServiceError

Req = Request[Any, Any, Any]
STAFF = allow("staff", "admin")
GROUPS = ("association", "school", "company")
# A service's field -> this form's input (the error shows beside it).
FIELDS = {
    "billing_address": "street",
    "billing_address.street": "street",
    "billing_address.postal_code": "postal_code",
    "billing_address.city": "city",
    "billing_address.country": "country",
    "organisation_id": "name",
    "body": "name",
}
_CONTACT = re.compile(r"^contact_persons(\[\d+\])?$")


# python-stdnum's reasons in the service's message -> the check that failed (its own text).
_STDNUM = {"checksum": "check_digit", "length": "length", "format": "format"}


def on_form(exc: ServiceError) -> ServiceError:
    """The error named by this form's input (and, for the business ID, which check failed)."""
    field = exc.field or ""
    if field == "business_id" and exc.code == "validation_failed":
        found = [r for word, r in _STDNUM.items() if word in exc.message.lower()]
        if found:
            exc.details["reason"] = found[0]
    if field:
        exc.details["field"] = _input_of(field)
    also = exc.details.get("also")
    if isinstance(also, list):  # the others refused with it (ops.fetch's `checked_as`)
        exc.details["also"] = [_input_of(str(name)) for name in also]
    return exc


def _input_of(field: str) -> str:
    """The form's input a request field is typed in."""
    if _CONTACT.match(field):
        return "contact_persons"
    return FIELDS.get(field, field)


def contact_persons(text: str) -> list[str]:
    """One subject a line (or separated by commas), blanks dropped, order kept, no repeats."""
    found: list[str] = []
    for part in re.split(r"[\n,;]+", text):
        subject = part.strip()
        if subject and subject not in found:
            found.append(subject)
    return found


def save_request(form: Any) -> dict[str, Any]:
    """The `payment.v1.save_organisation` request of the posted form."""

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    return {
        "organisation_id": text("organisation_id") or None,
        "name": text("name"),
        "business_id": text("business_id"),
        "customer_group": text("customer_group"),
        "billing_address": {
            "street": text("street"),
            "postal_code": text("postal_code"),
            "city": text("city"),
            "country": (text("country") or "FI").upper(),
        },
        "einvoice_address": text("einvoice_address").replace(" ", "").upper(),
        "einvoice_operator": text("einvoice_operator").replace(" ", "").upper(),
        "contact_persons": contact_persons(str(form.get("contact_persons") or "")),
        "language": text("language") or "fi",
        "idempotency_key": text("key") or new_key(),
    }


@get("/staff/organisations", name="web:organisations", guards=STAFF)
async def organisations(request: Req, q: FromQuery[str] = "") -> Response[str]:
    found = await fetch(
        request, "list_organisations", iv.OrganisationList, name=q.strip(), limit=200
    )
    return page(request, "staff/organisations.html", q=q, organisations=found.organisations)


@get("/staff/organisations/new", name="web:organisation_new", guards=STAFF)
async def new_organisation(request: Req) -> Response[str]:
    return page(request, "staff/organisation.html", org=None, groups=GROUPS, key=new_key())


@get("/staff/organisations/{organisation_id:str}", name="web:organisation", guards=STAFF)
async def organisation(request: Req, organisation_id: FromPath[str]) -> Response[str]:
    org = await fetch(
        request, "get_organisation", iv.OrganisationView, organisation_id=organisation_id
    )
    invoices = await fetch(
        request, "list_invoices", iv.InvoiceList, organisation_id=organisation_id, limit=20
    )
    return page(
        request,
        "staff/organisation.html",
        org=org,
        groups=GROUPS,
        invoices=invoices.invoices,
        key=new_key(),
    )


@post("/staff/organisations", name="web:organisation_save", guards=STAFF)
async def save_organisation(request: Req) -> Redirect:
    form = await read_form(request)
    try:
        saved = await fetch(
            request,
            "save_organisation",
            iv.OrganisationView,
            checked_as=iv.SaveOrganisationRequest,
            **save_request(form),
        )
    except ServiceError as exc:
        raise on_form(exc) from None
    return Redirect(
        path=f"/staff/organisations/{saved.organisation_id}?done=done_saved", status_code=303
    )


ROUTES = [organisations, new_organisation, organisation, save_organisation]
