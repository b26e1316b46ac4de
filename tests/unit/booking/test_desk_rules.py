"""The service desk's rules in booking (issue 19): who works at the desk, how phone numbers and
names are compared."""

from __future__ import annotations

import pytest

from services.booking.desk import _like_escaped, _phone_digits, acting_for, desk_clerk
from shared.contracts.common import Principal, RequestContext, system_principal
from shared.errors import Forbidden, Unauthenticated


def ctx(principal: Principal | None) -> RequestContext:
    return RequestContext(principal=principal)


@pytest.mark.parametrize(
    "principal",
    [
        Principal(subject="demo:resident-turku", roles=("resident",)),
        Principal(subject="key:sap", roles=("finance",), kind="api_key", scopes=("finance",)),
        Principal(subject="demo:finance", roles=("finance",)),
        system_principal("cart"),
    ],
)
def test_only_staff_clerks_and_admins_work_at_the_desk(principal: Principal) -> None:
    with pytest.raises(Forbidden):
        desk_clerk(ctx(principal))


def test_nobody_signed_in_is_asked_to_sign_in() -> None:
    with pytest.raises(Unauthenticated):
        desk_clerk(ctx(None))


@pytest.mark.parametrize("roles", [("staff",), ("library_clerk",), ("gis_clerk",), ("admin",)])
def test_staff_and_clerks_work_at_the_desk(roles: tuple[str, ...]) -> None:
    clerk = Principal(subject="demo:clerk", roles=roles)  # type: ignore[arg-type]
    assert desk_clerk(ctx(clerk)) is clerk


def test_the_customer_is_priced_by_the_home_municipality_the_clerk_checked() -> None:
    owner = acting_for("desk:1", "853")
    assert (owner.subject, owner.roles, owner.home_municipality) == ("desk:1", ("resident",), "853")
    assert owner.departments == ()  # never staff rights


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("+358 40 123 4567", "0401234567"),
        ("040-123 4567", "0401234567"),
        ("(02) 262 3311", "022623311"),
    ],
)
def test_phone_numbers_compare_by_digits_with_358_as_zero(typed: str, digits: str) -> None:
    assert _phone_digits(typed) == digits


def test_like_wildcards_in_a_query_are_taken_literally() -> None:
    assert _like_escaped("50%_a\\b") == "50\\%\\_a\\\\b"
