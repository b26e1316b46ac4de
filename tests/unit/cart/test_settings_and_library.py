"""Cart settings refuse development values in production; Koha amounts; library rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.cart.domain.library import check_library_first, next_attempt, non_payable_reason
from services.cart.library.koha import to_cents
from services.cart.settings import CartSettings
from shared.settings import CommonSettings, SettingsError, from_env


def test_production_refuses_development_secret_adapter_and_demo_data() -> None:
    production = CommonSettings(env="production")
    with pytest.raises(SettingsError) as refused:
        CartSettings(demo_data=True).check(production)
    message = str(refused.value)
    assert "CART_DOWNLOAD_SECRET" in message
    assert "CART_LIBRARY_ADAPTER" in message
    assert "DEMO_DATA" in message
    with pytest.raises(SettingsError) as refused:
        CartSettings(library_adapter="koha", download_secret="s3cret").check(production)
    assert "CART_KOHA_VERSION" in str(refused.value)
    assert "CART_KOHA_LIBRARY_ID" in str(refused.value)
    assert "CART_LIBRARY_CARD_KEY" in str(refused.value)
    with pytest.raises(SettingsError) as short:
        CartSettings(
            library_adapter="koha",
            download_secret="s3cret",
            koha_version="22.11",
            koha_library_id="MAIN",
            library_card_key="too-short",
        ).check(production)
    assert "CART_LIBRARY_CARD_KEY" in str(short.value)
    CartSettings(
        library_adapter="koha",
        download_secret="s3cret",
        koha_version="22.11",
        koha_library_id="MAIN",
        library_card_key="k" * 32,
    ).check(production)
    CartSettings(demo_data=True).check(CommonSettings(env="development"))


def test_settings_come_from_cart_prefixed_variables() -> None:
    settings = from_env(
        CartSettings,
        {"CART_LIBRARY_MINIMUM_PAYABLE_CENTS": "500", "CART_LIBRARY_NON_PAYABLE_TYPES": "A, B"},
        prefix="CART_",
    )
    assert settings.library_minimum_payable_cents == 500
    assert settings.non_payable_types == {"A", "B"}
    assert settings.retry_delays == [2, 10, 60, 300, 1800]


def test_koha_decimal_euros_become_cents_exactly() -> None:
    assert to_cents(2.4) == 240
    assert to_cents("0.10") == 10
    assert to_cents(19.99) == 1999


def test_non_payable_types_and_back_off() -> None:
    assert non_payable_reason("LOST_DISPUTED", {"LOST_DISPUTED"})
    assert non_payable_reason("OVERDUE", {"LOST_DISPUTED"}) == ""
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert next_attempt(1, [2, 10], now) == now + timedelta(seconds=2)
    assert next_attempt(2, [2, 10], now) == now + timedelta(seconds=10)
    assert next_attempt(3, [2, 10], now) is None


def test_koha_is_asked_first_after_any_earlier_attempt_even_after_a_clerks_retry() -> None:
    assert not check_library_first(1, None)  # the very first post
    assert check_library_first(2, None)  # an earlier claim that never reported back
    assert check_library_first(1, "recording the payment answered 500")  # retried by a clerk


@pytest.mark.parametrize("version", ["", "21.11", "23.11.05"])
def test_koha_without_a_supported_version_refuses_to_start(version: str) -> None:
    from services.cart.app import library_for

    with pytest.raises(SettingsError, match="CART_KOHA_VERSION"):
        library_for(CartSettings(library_adapter="koha", koha_version=version))
