"""Who may do what: residents on their own reservations, staff in their departments."""

from __future__ import annotations

from services.booking.domain.model import Reservation, Resource
from shared.access import acts_for_department, signed_in
from shared.contracts.common import Principal
from shared.errors import Forbidden, NotFound

__all__ = ["may_book", "may_see", "require_staff", "signed_in"]


def require_staff(principal: Principal | None, merchant_id: str) -> Principal:
    p = signed_in(principal)
    if not acts_for_department(p, merchant_id):
        raise Forbidden("only staff of this department may do this")
    return p


def may_book(principal: Principal, resource: Resource) -> None:
    staff = acts_for_department(principal, resource.merchant_id)
    if resource.who_may_book == "staff" and not staff:
        raise Forbidden("only staff may book this resource", field="resource_id")
    if resource.who_may_book == "residents" and not (
        principal.home_municipality == resource.municipality or staff
    ):
        raise Forbidden("only residents of the city may book this resource", field="resource_id")


def may_see(principal: Principal | None, r: Reservation) -> Principal:
    """The owner, staff of its department, admins and our services; others get not_found."""
    p = signed_in(principal)
    if p.subject != r.customer and not acts_for_department(p, r.merchant_id):
        raise NotFound("no such reservation", field="reservation_id")
    return p
