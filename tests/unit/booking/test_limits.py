"""Limits on one customer's open holds: which limit, with the numbers, and off at 0."""

from __future__ import annotations

import uuid

import pytest

from services.booking.domain.limits import HoldLimits, OnResource, check_open_holds
from services.booking.domain.model import Resource
from shared.errors import LimitReached

HALL = uuid.uuid4()


def on_hall(open_: int, adding: int, most: int) -> OnResource:
    return OnResource(resource_id=HALL, open=open_, adding=adding, most=most)


def test_up_to_the_limits_passes() -> None:
    check_open_holds(17, 3, 20, [on_hall(7, 3, 10)], "items")
    check_open_holds(500, 50, 0, [on_hall(500, 50, 0)], "items")  # 0: no limit


def test_the_overall_limit_is_named_with_its_numbers() -> None:
    with pytest.raises(LimitReached) as err:
        check_open_holds(19, 2, 20, [on_hall(0, 2, 10)], "items")
    assert err.value.details == {"field": "items", "limit": "max_open_holds", "max": 20, "open": 19}
    assert err.value.status == 409
    assert "you have 19 open holds or requests and ask for 2 more" in err.value.message


def test_the_limit_on_one_resource_is_named_with_the_resource() -> None:
    with pytest.raises(LimitReached) as err:
        check_open_holds(10, 1, 20, [on_hall(10, 1, 10)], "rrule")
    assert err.value.details["limit"] == "max_open_holds_per_customer"
    assert err.value.details["resource_id"] == str(HALL)
    assert err.value.field == "rrule"


def test_a_resource_limit_overrides_the_default() -> None:
    limits = HoldLimits(overall=20, per_resource=10)
    res = Resource(id=HALL, unit_id=HALL, name={}, unit_name={}, kind="space", merchant_id="x")
    assert limits.of(res) == 10
    own = Resource(
        id=HALL, unit_id=HALL, name={}, unit_name={}, kind="space", merchant_id="x",
        max_open_holds_per_customer=52,
    )  # fmt: skip
    assert limits.of(own) == 52
    assert not HoldLimits(overall=0, per_resource=0).active
