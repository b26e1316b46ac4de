"""Webhook signatures of the local provider, and settings refused in production."""

from __future__ import annotations

import time

import pytest

from services.payment.providers.base import InvalidSignature
from services.payment.providers.signing import sign, verify
from services.payment.settings import PaymentSettings
from shared.settings import CommonSettings, SettingsError

BODY = b'{"id":"levt_1","type":"charge.paid"}'


def test_a_signature_verifies_only_for_its_body_and_secret() -> None:
    header = sign(BODY, "whsec_a")
    verify(BODY, header, "whsec_a")
    with pytest.raises(InvalidSignature):
        verify(BODY + b" ", header, "whsec_a")
    with pytest.raises(InvalidSignature):
        verify(BODY, header, "whsec_b")


def test_a_stale_or_malformed_signature_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="too old"):
        verify(BODY, sign(BODY, "s", int(time.time()) - 301), "s")
    with pytest.raises(InvalidSignature, match="timestamp"):
        verify(BODY, "v1=abc", "s")


def test_one_of_several_v1_signatures_suffices_during_secret_rotation() -> None:
    t = int(time.time())
    header = sign(BODY, "new", t) + "," + sign(BODY, "old", t).split(",")[1]
    verify(BODY, header, "old")


def test_demo_secret_and_local_provider_are_refused_in_production() -> None:
    production = CommonSettings(env="production")
    with pytest.raises(SettingsError, match="demo secret"):
        PaymentSettings().check(production)
    PaymentSettings().check(CommonSettings(env="development"))
    live = PaymentSettings(
        provider="stripe",
        local_webhook_secret="whsec_real",
        stripe_api_key="sk_live_x",
        stripe_webhook_secret="whsec_y",
    )
    live.check(production)


def test_webhook_url_defaults_to_the_gateway_endpoint() -> None:
    settings = PaymentSettings(public_url="https://varaukset.turku.fi/")
    assert settings.local_webhook_url == (
        "https://varaukset.turku.fi/api/v1/payments/webhooks/local"
    )
    assert PaymentSettings().local_webhook_url is None


def test_a_hosted_checkout_returns_to_the_gateways_public_url_without_a_setting_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PAYMENT_PUBLIC_URL is optional: like the cart's links, the providers' return and
    callback addresses follow the gateway's PUBLIC_URL (else http://HOST:PORT)."""
    from services.payment.providers.stripe import StripeProvider

    monkeypatch.setenv("PUBLIC_URL", "https://varaukset.turku.fi/")
    keys = {"stripe_api_key": "sk_test_x", "stripe_webhook_secret": "whsec_x"}
    stripe = StripeProvider.from_settings(PaymentSettings(provider="stripe", **keys), None)
    assert stripe.public_url == "https://varaukset.turku.fi"
    own = PaymentSettings(provider="stripe", public_url="https://maksu.turku.fi", **keys)
    assert StripeProvider.from_settings(own, None).public_url == "https://maksu.turku.fi"
    monkeypatch.delenv("PUBLIC_URL")
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.delenv("HOST", raising=False)
    assert PaymentSettings().public_address() == "http://127.0.0.1:8123"
    assert PaymentSettings().local_webhook_url is None  # the local provider delivers in-process
