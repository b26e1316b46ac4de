"""Development-only booking settings are refused in production."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.booking.app import build
from services.booking.settings import BookingSettings
from shared.runtime import Infra
from shared.settings import CommonSettings, SettingsError, from_env


def infra(env: str) -> Infra:
    none: Any = None
    return Infra(CommonSettings(env=env), none, none, none, none, asyncio.Event())  # type: ignore[arg-type]


def test_demo_data_is_refused_in_production() -> None:
    with pytest.raises(SettingsError):
        build(infra("production"), BookingSettings(demo_data=True))
    assert build(infra("development"), BookingSettings(demo_data=True)).on_start is not None
    assert build(infra("production"), BookingSettings()).on_start is None


def test_hold_minutes_come_from_the_environment() -> None:
    settings = from_env(BookingSettings, {"BOOKING_HOLD_MINUTES": "20"}, prefix="BOOKING_")
    assert settings.hold_minutes == 20


def test_limits_on_open_holds_come_from_the_environment_and_zero_turns_them_off() -> None:
    assert (BookingSettings().max_open_holds, BookingSettings().max_open_holds_per_resource) == (
        20,
        10,
    )
    env = {"BOOKING_MAX_OPEN_HOLDS": "0", "BOOKING_MAX_OPEN_HOLDS_PER_RESOURCE": "3"}
    settings = from_env(BookingSettings, env, prefix="BOOKING_")
    assert (settings.max_open_holds, settings.max_open_holds_per_resource) == (0, 3)
    with pytest.raises(SettingsError, match="BOOKING_MAX_OPEN_HOLDS"):
        from_env(BookingSettings, {"BOOKING_MAX_OPEN_HOLDS": "-1"}, prefix="BOOKING_")
