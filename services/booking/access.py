"""Who may do what: residents on their own reservations, staff in their departments."""

from __future__ import annotations

from services.booking.domain.model import Reservation, Resource
from shared.contracts.common import Principal
from shared.errors import Forbidden, NotFound, Unauthenticated


def signed_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthenticated("sign in first")
    return principal


def is_staff_for(principal: Principal, merchant_id: str) -> bool:
    if principal.is_admin or principal.is_system:
        return True
    return principal.has("staff") and merchant_id in principal.departments


def require_staff(principal: Principal | None, merchant_id: str) -> Principal:
    p = signed_in(principal)
    if not is_staff_for(p, merchant_id):
        raise Forbidden("only staff of this department may do this")
    return p


def may_book(principal: Principal, resource: Resource) -> None:
    if resource.who_may_book == "staff" and not is_staff_for(principal, resource.merchant_id):
        raise Forbidden("only staff may book this resource", field="resource_id")
    if resource.who_may_book == "residents" and not (
        principal.home_municipality == resource.municipality
        or is_staff_for(principal, resource.merchant_id)
    ):
        raise Forbidden("only residents of the city may book this resource", field="resource_id")


def may_see(principal: Principal | None, r: Reservation) -> Principal:
    """The owner, staff of its department, admins and our services; others get not_found."""
    p = signed_in(principal)
    if p.subject != r.customer and not is_staff_for(p, r.merchant_id):
        raise NotFound("no such reservation", field="reservation_id")
    return p
