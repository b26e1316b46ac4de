"""Settings of the payment service (`PAYMENT_*`)."""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

from shared.settings import CommonSettings, gateway_url, refuse_in_production

DEMO_WEBHOOK_SECRET = "whsec_local_demo_only"  # noqa: S105 - development value, refused in production
# Paytrail's published test merchant (docs/README.md of paytrail/api-documentation, "Test
# credentials"): refused in production.
PAYTRAIL_TEST_MERCHANT = "375917"
PAYTRAIL_TEST_SECRET = "SAIPPUAKAUPPIAS"  # noqa: S105 - Paytrail's published test secret
PAYTRAIL_API = "https://services.paytrail.com"
WEBHOOK_PATH = "/api/v1/payments/webhooks/local"


class PaymentSettings(msgspec.Struct, frozen=True, kw_only=True):
    provider: str = (
        "local"  # a registered provider (providers/registry.py): local | stripe | paytrail
    )
    # The gateway's public address, e.g. https://varaukset.turku.fi: None -> PUBLIC_URL (else
    # http://HOST:PORT), as the gateway works it out (`public_address`).
    public_url: str | None = None
    webhook_url: str | None = None  # default {public_url}/api/v1/payments/webhooks/local
    local_webhook_secret: str = DEMO_WEBHOOK_SECRET
    local_fee_bp: int = 140  # 1.4 %
    local_fee_fixed_cents: int = 25
    local_payout_delay_days: int = 1
    # The local provider redelivers a webhook not acknowledged (5xx, 408/425/429, timeout,
    # no connection): first after this pause, doubling up to the maximum; gives up on another
    # 4xx, or after the give-up age (Stripe: three days).
    local_webhook_backoff_s: float = 1.0
    local_webhook_max_backoff_s: float = 300.0
    local_webhook_give_up_h: float = 72.0
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # None: Stripe's own
    paytrail_merchant_id: str | None = None  # checkout-account, e.g. 375917 (test)
    paytrail_secret: str | None = None
    paytrail_api_base: str = PAYTRAIL_API
    # Paytrail needs the payer's e-mail; a payer whose sign-in carries none gets this one
    # (e.g. the city's no-reply address); empty: such a payer is asked to give one.
    paytrail_default_email: str = ""
    # Every provider call: its own timeout and retries (same idempotency key), together well
    # inside the gateway's REQUEST_TIMEOUT_S, so that a slow provider is a clear "try again".
    provider_timeout_s: float = 1.5
    provider_retries: int = 1
    sweep_interval_s: float = 15.0
    # A refund the provider has not confirmed after this long becomes a finance anomaly.
    refund_unconfirmed_after_s: float = 3 * 86400.0
    # The provider's session closes at least this long before the order's deadline (when the
    # holds end): the sweeper cancels payments one interval ahead, so holds outlive sessions.
    close_margin_s: float = 60.0
    # Invoices (issue 19): payment terms, days net from the invoice date (a due date on a
    # weekend moves to the Monday after).
    invoice_terms_days: int = 14
    # Seasonal fixed slots (issue 19): how often the job invoices the ended months of approved
    # seasons (0: never; staff invoice them by hand).
    season_invoice_interval_s: float = 3600.0

    def public_address(self, environ: dict[str, str] | None = None) -> str:
        """`public_url`, else the gateway's own address (PUBLIC_URL, else HOST:PORT)."""
        return (self.public_url or gateway_url(environ)).rstrip("/")

    @property
    def local_webhook_url(self) -> str | None:
        if self.webhook_url:
            return self.webhook_url
        if self.public_url:
            return self.public_url.rstrip("/") + WEBHOOK_PATH
        return None

    def check(self, common: CommonSettings) -> None:
        problems = []
        if self.local_webhook_secret == DEMO_WEBHOOK_SECRET:
            problems.append("PAYMENT_LOCAL_WEBHOOK_SECRET is the demo secret")
        if self.provider == "local":
            problems.append("PAYMENT_PROVIDER=local is a test provider")
        if self.stripe_api_key and self.stripe_api_key.startswith("sk_test_"):
            problems.append("PAYMENT_STRIPE_API_KEY is a test-mode key")
        if self.provider == "paytrail":
            test = (PAYTRAIL_TEST_MERCHANT, PAYTRAIL_TEST_SECRET)
            if self.paytrail_merchant_id == test[0] or self.paytrail_secret == test[1]:
                problems.append("PAYMENT_PAYTRAIL_* are Paytrail's published test credentials")
            if urlsplit(self.public_address()).scheme != "https":
                problems.append("Paytrail calls back only to https addresses: set PUBLIC_URL")
        refuse_in_production(common, problems)
        budget = (self.provider_retries + 1) * self.provider_timeout_s + self.provider_retries
        if not 0 <= self.invoice_terms_days <= 365:
            raise ValueError("PAYMENT_INVOICE_TERMS_DAYS must be 0-365")
        if self.provider_timeout_s <= 0 or self.provider_retries < 0:
            raise ValueError("PAYMENT_PROVIDER_TIMEOUT_S must be > 0 and _RETRIES >= 0")
        if budget >= common.request_timeout_s:
            raise ValueError(
                f"PAYMENT_PROVIDER_TIMEOUT_S x (PAYMENT_PROVIDER_RETRIES + 1) plus back-off "
                f"({budget:g} s) must stay below REQUEST_TIMEOUT_S ({common.request_timeout_s:g} s)"
            )
        if self.provider == "stripe" and not (self.stripe_api_key and self.stripe_webhook_secret):
            raise ValueError("PAYMENT_PROVIDER=stripe needs PAYMENT_STRIPE_API_KEY and ..._SECRET")
        if self.provider == "paytrail" and not (
            (self.paytrail_merchant_id or "").isdigit() and self.paytrail_secret
        ):
            raise ValueError(
                "PAYMENT_PROVIDER=paytrail needs PAYMENT_PAYTRAIL_MERCHANT_ID (digits) and "
                "PAYMENT_PAYTRAIL_SECRET"
            )
