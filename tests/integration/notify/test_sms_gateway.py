"""The HTTP SMS gateway adapter against a real HTTP receiver: what it sends, and what each
answer (or none) means."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import pytest

from services.notify.settings import NotifySettings
from services.notify.sms.base import Sms
from services.notify.sms.http import HttpSmsGateway
from services.notify.sms.providers import provider_for
from shared.settings import SettingsError
from tests.integration.notify.http_receiver import Receiver

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    try:
        yield server
    finally:
        server.stop()


def an_sms() -> Sms:
    return Sms(uuid.uuid4(), "+358401234567", "Varaus vahvistettu", "Turku")


async def test_posts_json_with_basic_auth_and_the_message_id_as_idempotency_key(
    receiver: Receiver,
) -> None:
    gateway = HttpSmsGateway(receiver.url, user="city", password="s3cret")
    sms = an_sms()
    try:
        result = await gateway.send(sms)
    finally:
        await gateway.close()
    assert (result.outcome, result.code) == ("accepted", 200)
    [(headers, body)] = receiver.requests
    assert body == {
        "to": sms.to,
        "from": "Turku",
        "text": sms.body,
        "reference": str(sms.message_id),
    }
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"city:s3cret").decode()
    assert headers["Idempotency-Key"] == str(sms.message_id)
    assert headers["Content-Type"] == "application/json"


async def test_a_token_is_sent_as_bearer(receiver: Receiver) -> None:
    gateway = HttpSmsGateway(receiver.url, token="tok-123")
    try:
        await gateway.send(an_sms())
    finally:
        await gateway.close()
    assert receiver.requests[0][0]["Authorization"] == "Bearer tok-123"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(201, "accepted"), (400, "permanent"), (401, "permanent"), (422, "permanent"),
     (408, "transient"), (429, "transient"), (500, "transient"), (503, "transient")],
)  # fmt: skip
async def test_4xx_is_refused_for_good_and_5xx_tried_again(
    receiver: Receiver, status: int, outcome: str
) -> None:
    receiver.statuses = [status]
    gateway = HttpSmsGateway(receiver.url, token="t")
    try:
        result = await gateway.send(an_sms())
    finally:
        await gateway.close()
    assert (result.outcome, result.code) == (outcome, status)
    assert "+358" not in result.detail


async def test_timeout_and_no_server_are_tried_again(receiver: Receiver) -> None:
    receiver.delay_s = 1.0
    gateway = HttpSmsGateway(receiver.url, token="t", timeout_s=0.2)
    try:
        assert (await gateway.send(an_sms())).outcome == "transient"
    finally:
        await gateway.close()
    receiver.stop()
    gateway = HttpSmsGateway(receiver.url, token="t", timeout_s=0.5)
    try:
        result = await gateway.send(an_sms())
    finally:
        await gateway.close()
    assert (result.outcome, result.code) == ("transient", None)


@pytest.mark.parametrize(
    ("values", "variable"),
    [({"sms_url": "ftp://sms.example"}, "NOTIFY_SMS_URL"),
     ({"sms_url": "https://u:p@sms.example/send"}, "NOTIFY_SMS_URL"),
     ({"sms_url": "https://sms.example/send", "sms_user": "u"}, "NOTIFY_SMS_PASSWORD")],
)  # fmt: skip
def test_bad_gateway_settings_stop_the_start_naming_the_variable(
    values: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        provider_for(NotifySettings(**values), pool=None)  # type: ignore[arg-type]
