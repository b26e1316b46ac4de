"""Checks of price rules sent by staff, and the version that detects a change meanwhile."""

from __future__ import annotations

from datetime import date, time

import msgspec
import pytest

from services.booking.domain.pricing import PriceRule
from services.booking.resource_settings import check_rules, ordered, version_of
from shared.contracts import booking as c
from shared.errors import ValidationFailed

TODAY = date(2026, 12, 1)
BASE = c.PriceRuleIn(customer_group="other", unit="hour", amount_cents=5600, vat_rate_bp=1350)
PEAK = PriceRule(
    customer_group="resident",
    weekdays=(0, 1, 2, 3, 4),
    from_time=time(16),
    to_time=time(0),
    unit="hour",
    amount_cents=4200,
    vat_rate_bp=1350,
)
ALL_DAY = PriceRule(
    customer_group="resident",
    weekdays=(0, 1, 2, 3, 4, 5, 6),
    from_time=time(0),
    to_time=time(0),
    unit="hour",
    amount_cents=2800,
    vat_rate_bp=1350,
)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_cents": -1}, "rules[1].amount_cents"),
        ({"vat_rate_bp": 10001}, "rules[1].vat_rate_bp"),
        ({"weekdays": []}, "rules[1].weekdays"),
        ({"weekdays": [7]}, "rules[1].weekdays"),
        ({"from_time": time(18), "to_time": time(16)}, "rules[1].to_time"),
        ({"from_time": time(16), "to_time": time(16)}, "rules[1].to_time"),
        ({"valid_until": date(2026, 11, 30)}, "rules[1].valid_until"),
        ({"valid_from": date(2027, 2, 1), "valid_until": date(2027, 1, 1)}, "rules[1].valid_until"),
    ],
)
def test_a_bad_rule_names_its_row_and_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        check_rules([BASE, msgspec.structs.replace(BASE, **change)], TODAY)
    assert err.value.field == field


def test_good_rules_pass_including_a_band_to_midnight_and_one_ending_today() -> None:
    check_rules(
        [
            BASE,
            msgspec.structs.replace(BASE, from_time=time(16), to_time=time(0)),
            msgspec.structs.replace(BASE, valid_until=TODAY),
        ],
        TODAY,
    )


def test_the_version_ignores_order_and_changes_with_any_rule() -> None:
    assert version_of([PEAK, ALL_DAY]) == version_of([ALL_DAY, PEAK])
    cheaper = PriceRule(**{**PEAK.__dict__, "amount_cents": 4100})
    assert version_of([cheaper, ALL_DAY]) != version_of([PEAK, ALL_DAY])
    assert version_of([ALL_DAY]) != version_of([PEAK, ALL_DAY])


def test_rules_read_by_group_then_time_of_day() -> None:
    other = PriceRule(**{**ALL_DAY.__dict__, "customer_group": "other"})
    assert ordered([other, PEAK, ALL_DAY]) == [ALL_DAY, PEAK, other]
