"""The webhooks' pure rules: which events, the Standard Webhooks signature (checked with the
`standardwebhooks` package's own verifier), the back-off, the URL rule, the delivery table."""

from __future__ import annotations

import base64
import time
import typing
import uuid
from datetime import UTC, datetime

import msgspec
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notify.domain.webhooks import (
    DELIVERIES,
    WEBHOOK_EVENTS,
    accepted,
    check_url,
    headers,
    new_secret,
    payload,
    retry_delay,
    routing,
    signature,
)
from services.notify.settings import NotifySettings
from shared.contracts import booking as b
from shared.contracts.webhooks import WebhookEventType
from shared.errors import Conflict, ValidationFailed
from shared.settings import SettingsError

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def confirmed(merchant_id: str = "health") -> b.ReservationConfirmed:
    return b.ReservationConfirmed(
        reservation_id=uuid.uuid4(), resource_id=uuid.uuid4(), unit_id=uuid.uuid4(),
        customer="resident-aino", state="confirmed", starts_at=NOW, ends_at=NOW,
        merchant_id=merchant_id,
    )  # fmt: skip


def test_the_subscribable_subjects_are_the_ones_the_contract_offers() -> None:
    assert set(WEBHOOK_EVENTS) == set(typing.get_args(WebhookEventType))


def test_a_reservation_event_goes_to_its_department_ordered_by_the_reservation() -> None:
    event = confirmed()
    found = routing(event)
    assert found is not None
    assert (found.merchant_id, found.ordering_key) == (
        "health",
        f"reservation:{event.reservation_id}",
    )
    paid = b.HoursSet(unit_id=uuid.uuid4(), hours=[], valid_from=NOW.date())
    assert routing(paid) is None  # not one department's: nobody may subscribe to it


def test_the_payload_is_the_standard_envelope_around_the_event() -> None:
    event = confirmed()
    body = msgspec.json.decode(payload(event))
    assert body["type"] == "evt.booking.reservation.confirmed"
    assert body["timestamp"] == event.occurred_at.isoformat().replace("+00:00", "Z")
    assert body["data"]["reservation_id"] == str(event.reservation_id)


def test_the_signature_verifies_with_the_standard_webhooks_verifier() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    body = payload(confirmed())
    now = int(time.time())
    sent = headers(secret, "msg_1", now, body)
    verifier = Webhook(secret)
    assert verifier.verify(body, sent)["type"] == "evt.booking.reservation.confirmed"  # type: ignore[no-untyped-call]
    assert sent["webhook-signature"] == signature(secret, "msg_1", now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, sent)  # type: ignore[no-untyped-call]
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body + b" ", sent)  # type: ignore[no-untyped-call]


def test_the_known_signature_of_the_specification_example() -> None:
    """The example of the Standard Webhooks specification (and its reference libraries)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_only_2xx_is_delivered() -> None:
    assert [accepted(s) for s in (200, 204, 299)] == [True, True, True]
    assert [accepted(s) for s in (None, 301, 400, 410, 500, 503)] == [False] * 6


def test_back_off_doubles_up_to_its_maximum() -> None:
    assert [retry_delay(n, 5.0, 60.0) for n in (1, 2, 3, 4, 5, 50)] == [5, 10, 20, 40, 60, 60]


@pytest.mark.parametrize(
    "url",
    ["http://example.fi/hook", "https://localhost/hook", "https://127.0.0.1/hook",
     "https://10.1.2.3/hook", "https://[::1]/hook", "https://169.254.169.254/latest",
     "https://user:pw@example.fi/hook", "ftp://example.fi/hook", "https://example.fi/h#x",
     "https://gateway.internal/hook"],
)  # fmt: skip
def test_outside_development_only_public_https_urls(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_url(url, allow_insecure=False)
    assert refused.value.field == "url"


def test_public_https_urls_and_in_development_local_http() -> None:
    assert check_url("https://access.example.fi/turku?x=1", allow_insecure=False)
    assert check_url("https://93.184.216.34:8443/hook", allow_insecure=False)
    assert check_url("http://127.0.0.1:8080/hook", allow_insecure=True)
    with pytest.raises(ValidationFailed):
        check_url("ftp://127.0.0.1/hook", allow_insecure=True)


def test_every_delivery_edge_as_written_out() -> None:
    expected = {
        ("pending", "accepted"): "delivered",
        ("pending", "retry"): "pending",
        ("pending", "gave_up"): "failed",
        ("pending", "deactivated"): "failed",
        ("delivered", "replayed"): "pending",
        ("failed", "replayed"): "pending",
    }
    for state in ("pending", "delivered", "failed"):
        for event in ("accepted", "retry", "gave_up", "deactivated", "replayed"):
            if (state, event) in expected:
                assert DELIVERIES.step(state, event) == expected[(state, event)]
            else:
                with pytest.raises(Conflict):
                    DELIVERIES.step(state, event)


def test_insecure_webhook_urls_only_in_development_and_never_in_production() -> None:
    assert NotifySettings().webhook_insecure("development") is True
    assert NotifySettings().webhook_insecure("test") is False
    assert NotifySettings().webhook_insecure("production") is False
    assert NotifySettings(webhook_allow_insecure=True).webhook_insecure("test") is True
    with pytest.raises(SettingsError, match="NOTIFY_WEBHOOK_ALLOW_INSECURE"):
        NotifySettings(webhook_allow_insecure=True).webhook_insecure("production")
    with pytest.raises(SettingsError, match="NOTIFY_WEBHOOK_CLAIM_S"):
        NotifySettings(webhook_claim_s=5.0, webhook_timeout_s=5.0).webhook_insecure("test")
