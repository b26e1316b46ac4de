"""Settings of the notification service (environment variables `NOTIFY_*`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shared.settings import SettingsError

Positive = Annotated[int, msgspec.Meta(ge=1)]


class NotifySettings(msgspec.Struct, frozen=True, kw_only=True):
    # The mail server (make run starts a local catcher and sets these).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool | None = None  # None: when the server offers it
    smtp_use_tls: bool = False  # implicit TLS (port 465)
    smtp_timeout_s: float = 10.0
    # The sender when a department has none of its own (departments table).
    sender: str = "noreply@turku.fi"
    sender_name: str = ""
    # Back-off between tries of a message the mail server could not take (down, 4xx), the
    # last step repeated until `give_up_after_s` from the event; then it is failed for staff.
    retry_delays_s: str = "5,30,120,600,1800,3600"
    give_up_after_s: float = 48 * 3600.0
    claim_s: float = 60.0  # a replica's claim on a message while it sends it
    batch: Positive = 64  # messages claimed at once
    concurrency: Positive = 16  # SMTP conversations at once per process
    poll_interval_s: float = 1.0  # besides the wake-up on NOTIFY
    details_ttl_s: float = 30.0  # how long a resource's names from booking are kept
    # SMS: a JSON-over-HTTP gateway (services/notify/sms/http.py) with a bearer token or
    # basic auth; without a URL the development provider keeps each SMS in `dev_sms`.
    sms_url: str | None = None
    sms_user: str | None = None
    sms_password: str | None = None
    sms_token: str | None = None
    sms_sender: str = "Turku"
    sms_timeout_s: float = 10.0
    # Reminders this many hours before a reservation (a resource may have its own), looked
    # for every `reminder_interval_s`.
    reminder_hours: Annotated[int, msgspec.Meta(ge=0, le=336)] = 24
    reminder_interval_s: float = 30.0
    # Webhooks to integrators (webhook_sender.py): each POST's timeout, the back-off (doubling
    # from base to max) and how long a delivery is tried before it is failed; a replica's claim
    # (longer than the timeout), deliveries claimed at once and in flight per process.
    webhook_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    webhook_retry_base_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    webhook_retry_max_s: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    webhook_give_up_after_s: float = 72 * 3600.0
    webhook_claim_s: float = 30.0
    webhook_batch: Positive = 64
    webhook_concurrency: Positive = 32
    webhook_per_subscription: Positive = 4  # in flight per process to one subscription
    # Plain http and local addresses as webhook URLs: None = only under ENV=development.
    webhook_allow_insecure: bool | None = None

    def retry_delays(self) -> list[float]:
        try:
            delays = [float(x) for x in self.retry_delays_s.split(",") if x.strip()]
        except ValueError:
            raise SettingsError(
                "NOTIFY_RETRY_DELAYS_S: a comma-separated list of seconds"
            ) from None
        if not delays or any(d <= 0 for d in delays):
            raise SettingsError("NOTIFY_RETRY_DELAYS_S: positive seconds, at least one")
        return delays

    def webhook_insecure(self, env: str) -> bool:
        """Whether webhook URLs may be plain http or local; refused in production."""
        if self.webhook_allow_insecure and env == "production":
            raise SettingsError("NOTIFY_WEBHOOK_ALLOW_INSECURE: not in production")
        if self.webhook_claim_s <= self.webhook_timeout_s:
            raise SettingsError("NOTIFY_WEBHOOK_CLAIM_S: longer than NOTIFY_WEBHOOK_TIMEOUT_S")
        if self.webhook_allow_insecure is None:
            return env == "development"
        return self.webhook_allow_insecure
