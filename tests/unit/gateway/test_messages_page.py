"""The sent-messages page's rows: a message's state as staff read it (sent, failed for good,
waiting for a retry, waiting to be sent, not sent) and the known reasons in their words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.gateway.web.messages import row_of, status_of
from shared.contracts import notify as nt

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def message(state: str, attempts: int, error: str | None = None) -> nt.MessageView:
    return nt.MessageView(
        message_id=uuid.uuid4(), event_id=uuid.uuid4(), customer="demo:resident-turku",
        channel="email", kind="reservation_confirmed", merchant_id="sports", locale="fi",
        address="aino@example.fi", state=state, attempts=attempts, last_error=error,  # type: ignore[arg-type]
        created_at=NOW, sent_at=NOW if state == "sent" else None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("state", "attempts", "shown"),
    [
        ("sent", 1, "sent"),
        ("failed", 1, "failed"),
        ("pending", 0, "pending"),
        ("pending", 2, "retrying"),
        ("skipped", 0, "skipped"),
    ],
)
def test_each_state_is_shown_as_staff_read_it(state: str, attempts: int, shown: str) -> None:
    assert status_of(message(state, attempts)) == shown


def test_a_known_reason_is_translated_and_any_other_kept_as_the_service_said() -> None:
    skipped = row_of(message("skipped", 0, "no e-mail address"))
    assert skipped.reason_key == "notify_reason_no_email"
    failed = row_of(message("failed", 1, "550 mailbox unavailable"))
    assert failed.reason_key == ""
    assert failed.reason == "550 mailbox unavailable"
    assert failed.when == "06.12.2026 12:00"  # in Turku's time
