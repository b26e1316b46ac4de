"""The insights page's default period ends today in Turku, not on the server's UTC date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.gateway.web.insights import _period
from services.gateway.web.render import today
from shared.errors import ValidationFailed

NEW_YEARS_EVE_2230_UTC = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 00:30, 1 Jan in Turku


def test_the_default_period_ends_on_the_helsinki_date() -> None:
    assert _period("", "", NEW_YEARS_EVE_2230_UTC) == ("2026-12-05", "2027-01-01")


def test_before_midnight_in_helsinki_it_is_the_same_day() -> None:
    assert _period("", "", datetime(2026, 12, 31, 21, 30, tzinfo=UTC))[1] == "2026-12-31"


def test_a_chosen_period_is_kept_and_a_bad_date_names_its_field() -> None:
    assert _period("2026-01-01", "2026-01-31", NEW_YEARS_EVE_2230_UTC) == (
        "2026-01-01",
        "2026-01-31",
    )
    with pytest.raises(ValidationFailed) as err:
        _period("", "31.12.2026")
    assert err.value.field == "period_to"


def test_today_is_the_turku_date_of_the_instant() -> None:
    assert today(datetime(2026, 6, 30, 21, 5, tzinfo=UTC)).isoformat() == "2026-07-01"  # EEST
