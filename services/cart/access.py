"""Who may do what in the cart (checked in every operation)."""

from __future__ import annotations

from shared.contracts.common import Principal, RequestContext, Role
from shared.errors import Forbidden, Unauthenticated


def signed_in(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise Unauthenticated("sign in first")
    return ctx.principal


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
    staff = principal.has("staff", "finance", "library_clerk", "gis_clerk")
    return staff and bool(merchant_ids & set(principal.departments))
