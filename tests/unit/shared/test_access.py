"""The signed-in rule and the department rule, each written once (shared/access.py) and used by
booking, cart, payment and the gateway."""

from __future__ import annotations

import pytest

from shared.access import CLERKS, acts_for_department, signed_in
from shared.contracts.common import Principal, system_principal
from shared.errors import Unauthenticated

SPORTS_CLERK = Principal(subject="s", roles=("staff",), departments=("sports",))
GIS_CLERK = Principal(subject="g", roles=("gis_clerk",), departments=("gis",))
FINANCE = Principal(subject="f", roles=("finance",), departments=("sports",))
ADMIN = Principal(subject="a", roles=("admin",))
RESIDENT = Principal(subject="r", roles=("resident",))


def test_nobody_signed_in_is_401() -> None:
    with pytest.raises(Unauthenticated, match="sign in first"):
        signed_in(None)
    assert signed_in(RESIDENT) is RESIDENT


@pytest.mark.parametrize(
    ("principal", "department", "roles", "acts"),
    [
        (SPORTS_CLERK, "sports", None, True),
        (SPORTS_CLERK, "library", None, False),  # another department
        (SPORTS_CLERK, "sports", ("staff",), True),
        (GIS_CLERK, "gis", ("staff",), False),  # a GIS clerk is not "staff" by role ...
        (GIS_CLERK, "gis", CLERKS, True),  # ... but is one of the clerks
        (FINANCE, "sports", ("staff",), False),  # in the department, without the role
        (FINANCE, "sports", None, True),  # belonging is enough when no role is asked
        (ADMIN, "sports", ("staff",), True),  # admins everywhere
        (system_principal("cart"), "gis", ("staff",), True),  # and our own services
        (RESIDENT, "sports", None, False),
    ],
)
def test_who_acts_for_a_department(
    principal: Principal, department: str, roles: tuple[str, ...] | None, acts: bool
) -> None:
    if roles == ("staff",):
        assert acts_for_department(principal, department) is acts  # the default
    assert acts_for_department(principal, department, roles) is acts  # type: ignore[arg-type]
