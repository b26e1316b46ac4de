"""Who may do what in the cart (checked in every operation)."""

from __future__ import annotations

from shared import access
from shared.contracts.common import Principal, RequestContext, Role
from shared.errors import Forbidden

# Who sees an order of their department's merchants (finance too; refunds are the clerks').
ORDER_READERS: tuple[Role, ...] = ("staff", "finance", "library_clerk", "gis_clerk")


def signed_in(ctx: RequestContext) -> Principal:
    return access.signed_in(ctx.principal)


def resident(ctx: RequestContext) -> Principal:
    """A person acting on their own cart (any signed-in user, not an API key or service)."""
    principal = signed_in(ctx)
    if principal.kind != "user":
        raise Forbidden("only a signed-in person has a cart")
    return principal


def require_role(ctx: RequestContext, *roles: Role) -> Principal:
    principal = signed_in(ctx)
    if not (principal.is_admin or principal.has(*roles)):
        raise Forbidden("you may not do this")
    return principal


def may_see_order(principal: Principal, customer: str, merchant_ids: set[str]) -> bool:
    if principal.subject == customer or principal.is_admin or principal.is_system:
        return True
    return any(access.acts_for_department(principal, m, ORDER_READERS) for m in merchant_ids)
