"""Booking on an organisation's behalf (issue 19): the organisation lives in payment; its
contact persons may book for it, and what they book for it is priced by its customer group.

A caller's organisations are asked of `payment.v1.list_organisations` with the caller's own
principal (which lists only their organisations; staff see every one)."""

from __future__ import annotations

import uuid

import msgspec

from shared.contracts.common import Principal, RequestContext
from shared.contracts.invoicing import (
    ListOrganisationsRequest,
    OrganisationList,
    OrganisationView,
)
from shared.errors import Forbidden
from shared.messaging import Requester, subject_for

# payment's customer groups of organisations -> booking's price groups (by scope)
SCOPE_OF_GROUP = {"association": "association", "school": "association", "company": "business"}
PAGE = 500


async def organisation(
    requester: Requester | None, organisation_id: uuid.UUID, ctx: RequestContext
) -> OrganisationView | None:
    """The organisation as the caller may see it in payment: staff every one, anyone else
    only those they are a contact person of (None: not one of those)."""
    if requester is None:
        return None
    offset = 0
    while True:
        page = await requester.call(
            subject_for("payment", "list_organisations"),
            ListOrganisationsRequest(limit=PAGE, offset=offset),
            OrganisationList,
            ctx=ctx,
        )
        for org in page.organisations:
            if org.organisation_id == organisation_id:
                return org
        if len(page.organisations) < PAGE:
            return None
        offset += PAGE


def payer(principal: Principal, org: OrganisationView) -> Principal:
    """The caller acting for the organisation: priced by its customer group, not their own
    (no home municipality: an organisation is not a resident)."""
    return msgspec.structs.replace(
        principal, scopes=(SCOPE_OF_GROUP[org.customer_group],), home_municipality=None
    )


async def contact_person_of(
    requester: Requester | None,
    principal: Principal,
    organisation_id: uuid.UUID,
    ctx: RequestContext,
) -> OrganisationView:
    """The organisation when the caller is one of its contact persons, else `forbidden`
    naming `organisation_id` (an unknown organisation alike: nothing about it is told)."""
    org = await organisation(requester, organisation_id, ctx)
    if org is None or principal.subject not in org.contact_persons:
        raise Forbidden(
            "only the organisation's contact persons may book for it", field="organisation_id"
        )
    return org
