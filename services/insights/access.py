"""Who may see which figures: staff of a department its figures, admins all of them."""

from __future__ import annotations

from shared.access import acts_for_department, signed_in
from shared.contracts.common import Principal
from shared.errors import Forbidden


def departments_for(principal: Principal | None, merchant_id: str | None) -> list[str] | None:
    """The departments the figures may cover (None: every one, for admins and our services).
    `merchant_id` asks for one; staff without it get all of their own departments."""
    p = signed_in(principal)
    if merchant_id is not None:
        if not acts_for_department(p, merchant_id):
            raise Forbidden(
                "only staff of this department may see its figures", field="merchant_id"
            )
        return [merchant_id]
    if p.is_admin or p.is_system:
        return None
    mine = [d for d in p.departments if acts_for_department(p, d)]
    if not mine:
        raise Forbidden("only staff of a department may see utilisation figures")
    return mine
