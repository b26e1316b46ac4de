"""The two access rules every service (and the gateway) applies, each written once:

- `signed_in`: somebody is signed in (else `Unauthenticated`, 401);
- `acts_for_department`: the principal may act for a department (merchant): admins and our own
  services everywhere, a person holding one of the given roles only in the departments they
  belong to.

Which roles count, and what a refusal looks like (403, or 404 to reveal nothing), stay with each
service's `access.py`.
"""

from __future__ import annotations

from collections.abc import Collection

from shared.contracts.common import Principal, Role
from shared.errors import Unauthenticated

STAFF: tuple[Role, ...] = ("staff",)
# Clerks of the library and the GIS unit act for their departments as the staff do.
CLERKS: tuple[Role, ...] = ("staff", "library_clerk", "gis_clerk")


def signed_in(principal: Principal | None) -> Principal:
    """The caller, or `Unauthenticated` when nobody is signed in."""
    if principal is None:
        raise Unauthenticated("sign in first")
    return principal


def acts_for_department(
    principal: Principal, department: str, roles: Collection[Role] | None = STAFF
) -> bool:
    """Admins and internal services everywhere; others only in their own departments, and
    only while holding one of `roles` (None: belonging to the department is enough)."""
    if principal.is_admin or principal.is_system:
        return True
    if roles is not None and not principal.has(*roles):
        return False
    return department in principal.departments
