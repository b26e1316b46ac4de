"""The refund shown after a cancellation is the one booking answered for that cancellation,
never an amount from the URL: `/reservations?done=done_cancelled&refund=123456789` promised
"Du får tillbaka: 1 234 567,89 €" to whoever followed the link."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from services.gateway.web import resident
from services.gateway.web.forms import REFUND_COOKIE
from shared.contracts import booking as bk
from shared.contracts.common import Principal

RID = uuid.uuid4()
AINO = Principal(subject="demo:aino", roles=("resident",))


def reservation(state: str) -> bk.ReservationView:
    return bk.ReservationView(
        reservation_id=RID, resource_id=uuid.uuid4(), unit_id=uuid.uuid4(),
        customer=AINO.subject, state=state,  # type: ignore[arg-type]
        starts_at=datetime(2026, 12, 20, 15, tzinfo=UTC),
        ends_at=datetime(2026, 12, 20, 16, tzinfo=UTC), places=1, expires_at=None,
        gross_cents=2800, net_cents=2467, vat_cents=333, vat_rate_bp=1350, merchant_id="sports",
    )  # fmt: skip


class Booking:
    """booking's side: one confirmed reservation that `cancel` cancels with 2 100 cents back."""

    def __init__(self) -> None:
        self.state = "confirmed"

    async def call(self, subject: str, body: dict[str, Any], reply: type, ctx: Any) -> Any:
        if subject.endswith(".cancel"):
            self.state = "cancelled"
            return bk.CancelReply(reservation=reservation(self.state), refund_cents=2100)
        if subject.endswith(".my_reservations"):
            return bk.ReservationList(reservations=[reservation(self.state)])
        if subject.endswith(".search"):
            return bk.SearchReply(hits=[])
        raise AssertionError(subject)


def signed_in_as_aino(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["principal"] = AINO  # type: ignore[typeddict-item]
        await app(scope, receive, send)

    return middleware


def client() -> TestClient[Litestar]:
    app = Litestar(
        route_handlers=[resident.reservations, resident.cancel],
        middleware=[signed_in_as_aino],
        logging_config=None,
    )
    app.state.services = Booking()
    return TestClient(app)


def test_an_amount_in_the_url_is_not_promised() -> None:
    with client() as web:
        page = web.get("/reservations?done=done_cancelled&refund=123456789&lang=sv")
    assert page.status_code == 200
    assert "1 234 567,89" not in page.text.replace("\u00a0", " ")
    assert "data-refund" not in page.text


def test_the_refund_booking_answered_is_shown_once_after_the_cancellation() -> None:
    with client() as web:
        cancelled = web.post(
            f"/reservations/{RID}/cancel",
            data={"key": "k1"},
            follow_redirects=False,
        )
        assert cancelled.status_code == 303
        assert "refund=" not in cancelled.headers["location"]
        shown = web.get(cancelled.headers["location"] + "&refund=99999&lang=sv")
        again = web.get("/reservations?done=done_cancelled&lang=sv")
    assert 'data-refund="2100"' in shown.text
    assert "21,00" in shown.text
    assert "data-refund" not in again.text


def test_a_kept_refund_needs_that_reservation_cancelled() -> None:
    with client() as web:
        web.cookies.set(REFUND_COOKIE, f"{uuid.uuid4()}:500000")
        page = web.get("/reservations?lang=sv")
    assert "data-refund" not in page.text
