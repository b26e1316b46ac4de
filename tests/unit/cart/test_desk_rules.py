"""The service desk in cart (issue 19): who works at the desk; a clerk acts for a customer,
never for a service; phone digits as booking compares them."""

from __future__ import annotations

import pytest

from services.cart.desk.service import _digits, _key, acting, desk_clerk
from shared.contracts.common import Principal, RequestContext
from shared.errors import Forbidden, ValidationFailed

CLERK = RequestContext(
    principal=Principal(subject="demo:clerk", roles=("staff",), departments=("sports",)),
    request_id="r1",
)


def test_a_resident_is_refused() -> None:
    with pytest.raises(Forbidden):
        desk_clerk(RequestContext(principal=Principal(subject="r", roles=("resident",))))


def test_acting_for_a_customer_keeps_the_request_and_drops_the_clerks_rights() -> None:
    as_customer = acting(CLERK, "desk:abc")
    assert as_customer.principal is not None
    assert as_customer.principal.subject == "desk:abc"
    assert as_customer.principal.roles == ("resident",)
    assert as_customer.principal.departments == ()
    assert as_customer.request_id == "r1"


@pytest.mark.parametrize("customer", ["system:payment", " desk:abc", ""])
def test_not_a_customer_names_the_field(customer: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        acting(CLERK, customer)
    assert error.value.field == "customer"


def test_phone_digits_and_keys() -> None:
    assert _digits("+358 40 123") == "040123"
    assert _digits("12") == ""
    assert _key("k") == "desk:k"
    assert _key(None) is None
