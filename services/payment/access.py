"""Who may do what with payments (checked in every operation)."""

from __future__ import annotations

from collections.abc import Iterable

from shared import access
from shared.access import CLERKS, acts_for_department
from shared.contracts.common import Principal, RequestContext
from shared.errors import Forbidden


def signed_in(ctx: RequestContext) -> Principal:
    return access.signed_in(ctx.principal)


def require_finance(ctx: RequestContext) -> Principal:
    principal = signed_in(ctx)
    if not (principal.has("finance", "admin") or principal.is_system):
        raise Forbidden("finance or admin only")
    return principal


def may_see(principal: Principal, customer: str, merchants: Iterable[str]) -> bool:
    if principal.subject == customer or principal.is_admin or principal.is_system:
        return True
    if principal.has("finance"):
        return True
    return principal.has("staff") and all(acts_for_department(principal, m) for m in merchants)


def require_refunder(ctx: RequestContext, merchants: Iterable[str]) -> Principal:
    """Finance, admin, or staff of every merchant whose lines are refunded."""
    principal = signed_in(ctx)
    if principal.has("finance", "admin") or principal.is_system:
        return principal
    if principal.has(*CLERKS) and all(acts_for_department(principal, m, CLERKS) for m in merchants):
        return principal
    raise Forbidden("refunds are for staff of the merchant, finance or admin")
