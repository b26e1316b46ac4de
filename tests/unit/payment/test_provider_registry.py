"""Providers are found by name (built-ins and entry points) and declare what they support; an
order is checked against those limits and windows before any provider is called."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.payment.domain.orders import check_provider_limits, provider_expiry
from services.payment.providers.local import LocalProvider
from services.payment.providers.registry import GROUP, provider_class, registered
from services.payment.providers.stripe import StripeProvider
from shared.errors import ValidationFailed


def test_the_built_in_providers_are_registered_with_their_capabilities() -> None:
    assert provider_class("local") is LocalProvider
    assert provider_class("stripe") is StripeProvider
    caps = StripeProvider.capabilities
    assert (caps.min_amount_cents, caps.partial_refunds, caps.refunds_confirmed_later) == (
        50,
        True,
        True,
    )
    assert (caps.window_min, caps.window_max) == (timedelta(minutes=30), timedelta(hours=24))
    with pytest.raises(ValueError, match="not registered"):
        provider_class("paypal")


def test_a_package_registers_a_provider_through_an_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "city_pay-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: city-pay\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{GROUP}]\ncitypay = services.payment.providers.local:LocalProvider\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registered()["citypay"] == "services.payment.providers.local:LocalProvider"
    with pytest.raises(ValueError, match="not a payment provider named 'citypay'"):
        provider_class("citypay")  # its class must carry the name it is registered under
    assert str(tmp_path) in sys.path


def test_amounts_outside_a_providers_limits_are_refused_naming_the_amount() -> None:
    caps = StripeProvider.capabilities
    check_provider_limits(50, "stripe", caps)
    with pytest.raises(ValidationFailed) as low:
        check_provider_limits(49, "stripe", caps)
    assert low.value.details["reason"] == "below_provider_minimum"
    assert "EUR 0.49" in low.value.message
    with pytest.raises(ValidationFailed) as high:
        check_provider_limits(100_000_000, "stripe", caps)
    assert high.value.details["reason"] == "above_provider_maximum"


def test_a_session_is_fitted_into_the_providers_window() -> None:
    caps = StripeProvider.capabilities
    created = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    short = provider_expiry(created + timedelta(minutes=29), created, caps)
    assert short == created + timedelta(minutes=35)  # Stripe's minimum + slack; we close it
    assert provider_expiry(created + timedelta(hours=2), created, caps) == created + timedelta(
        hours=2
    )
    assert provider_expiry(created + timedelta(days=3), created, caps) == created + timedelta(
        hours=24
    )
    local = LocalProvider.capabilities
    assert provider_expiry(created + timedelta(minutes=5), created, local) == created + timedelta(
        minutes=5
    )


def test_provider_calls_must_fit_inside_the_gateways_request_timeout() -> None:
    from services.payment.settings import PaymentSettings
    from shared.settings import CommonSettings

    common = CommonSettings(env="development", request_timeout_s=5.0)
    PaymentSettings().check(common)  # 1.5 s x 2 + 1 s back-off
    with pytest.raises(ValueError, match="REQUEST_TIMEOUT_S"):
        PaymentSettings(provider_timeout_s=3.0).check(common)
