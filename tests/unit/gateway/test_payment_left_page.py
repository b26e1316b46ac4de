"""Back from a provider without paying (payment_left.html): a payment that ended (cancelled,
or its time ran out) ended its order too, so the page says so and offers no "Cancel the order"
(it did, for an order already cancelled); a declined one may be paid again or cancelled."""

from __future__ import annotations

import uuid

import pytest

from services.gateway.web.i18n import t
from tests.unit.gateway.web_page import render

ORDER = uuid.UUID("00000000-0000-0000-0000-00000000000a")


def left(lang: str, state: str, **flags: bool) -> str:
    return render(
        "payment_left.html", lang, provider="stripe", payment_id=uuid.uuid4(), order_id=ORDER,
        order_number="T-1001", state=state, succeeded=False, resume_url="",
        declined=flags.get("declined", False), ended=flags.get("ended", False),
    )  # fmt: skip


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
@pytest.mark.parametrize(
    ("state", "said"),
    [("cancelled", "payment_abandoned_note"), ("expired", "done_payment_time_ended")],
)
def test_an_ended_payment_says_so_and_offers_nothing_to_cancel(
    lang: str, state: str, said: str
) -> None:
    html = left(lang, state, ended=True)
    assert t(lang, said) in html
    assert 'id="cancel-order"' not in html
    assert 'id="retry"' not in html
    assert f'href="/orders/{ORDER}"' in html


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_declined_payment_may_be_paid_again_or_the_order_cancelled(lang: str) -> None:
    html = left(lang, "failed", declined=True)
    assert t(lang, "payment_declined_note") in html
    assert 'id="retry"' in html
    assert 'id="cancel-order"' in html
