"""Whether the signed-in person is a contact person of an organisation: the menu links to
their organisations' invoices (`/invoices`) only then (issue 19).

Asked of `payment.v1.list_organisations` (which lists a resident only their own
organisations) before a page is rendered, and kept per person for `ttl_s` in this process,
so a resident's pages ask payment about once a minute. Someone made a contact person sees the
link within `ttl_s`; the `/invoices` page asks payment itself every time, so the link shown a
little too long never shows invoices to anyone else. When payment does not answer quickly the
link is left out for a short while (the page itself still works)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from litestar import Request

from services.gateway.auth import context_of, principal_of
from services.gateway.clients import Services
from shared.contracts import invoicing as inv
from shared.errors import ServiceError
from shared.messaging import subject_for

log = logging.getLogger(__name__)
LIST_ORGANISATIONS = subject_for("payment", "list_organisations")
STATE_KEY = "contact_person"  # request.state: the menu shows the invoices link


class ContactPersons:
    def __init__(
        self,
        ttl_s: float = 60.0,
        retry_s: float = 10.0,
        timeout_s: float = 1.0,
        max_people: int = 10_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s, self.retry_s, self.timeout_s = ttl_s, retry_s, timeout_s
        self.max_people = max_people
        self.now = now
        self._known: dict[str, tuple[float, bool]] = {}  # subject -> (valid until, answer)

    def _keep(self, subject: str, answer: bool, for_s: float) -> bool:
        if len(self._known) >= self.max_people:
            self._known.clear()  # a bounded cache: start again rather than grow
        self._known[subject] = (self.now() + for_s, answer)
        return answer

    async def is_contact_person(self, request: Request[Any, Any, Any]) -> bool:
        principal = principal_of(request)
        if principal is None or principal.kind != "user" or not principal.has("resident"):
            return False
        subject = principal.subject
        known = self._known.get(subject)
        if known is not None and known[0] > self.now():
            return known[1]
        services: Services | None = getattr(request.app.state, "services", None)
        if services is None:
            return False
        try:
            mine = await services.call(
                LIST_ORGANISATIONS,
                inv.ListOrganisationsRequest(limit=50),
                inv.OrganisationList,
                ctx=context_of(request),
                timeout=self.timeout_s,
            )
        except (ServiceError, OSError) as exc:
            log.info("contact person or not: payment did not answer (%s)", type(exc).__name__)
            return self._keep(subject, False, self.retry_s)
        answer = any(subject in o.contact_persons for o in mine.organisations)
        return self._keep(subject, answer, self.ttl_s)


async def note_contact_person(request: Request[Any, Any, Any]) -> None:
    """Before a page: whether its menu shows the invoices link (`request.state`)."""
    if request.url.path.startswith("/static/"):
        return
    known: ContactPersons | None = getattr(request.app.state, "contact_persons", None)
    if known is None:  # one per app (the web pages are optional: made on first use)
        known = request.app.state.contact_persons = ContactPersons()
    request.state[STATE_KEY] = await known.is_contact_person(request)
