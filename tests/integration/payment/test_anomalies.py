"""Finance sees the provider news that did not add up and settles it with a note."""

from __future__ import annotations

import uuid

import pytest

from shared.contracts.common import Principal
from shared.contracts.payment import (
    AnomalyList,
    AnomalyView,
    ListAnomaliesRequest,
    ResolveAnomalyRequest,
)
from shared.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from tests.integration.payment.conftest import (
    FINANCE,
    GIS_CLERK,
    Orders,
    PaymentHarness,
    resident,
)
from tests.integration.payment.test_payments import send, start

ADMIN = Principal(subject="admin-aino", roles=("admin",))


async def mismatched_payment(
    payment: PaymentHarness, orders: Orders, event_id: str = "evt-short"
) -> tuple[uuid.UUID, uuid.UUID, int]:
    """A pending payment whose provider reports a success of 1.00 € less (refused, recorded)."""
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    charge = await payment.pool.fetchval(
        "SELECT provider_ref FROM payment.payments WHERE id = $1", started.payment_id
    )
    body = (
        f'{{"id":"{event_id}","type":"charge.paid","created":0,"data":{{"charge":"{charge}",'
        f'"amount":{order.total_cents - 100},"currency":"EUR","fee":40}}}}'
    ).encode()
    with pytest.raises(Conflict):
        await send(payment, body)
    return started.payment_id, order.order_id, order.total_cents


async def listed(
    payment: PaymentHarness, who: Principal = FINANCE, **filters: object
) -> AnomalyList:
    req = ListAnomaliesRequest(**filters)  # type: ignore[arg-type]
    return await payment.call("list_anomalies", req, AnomalyList, who)


async def resolve(
    payment: PaymentHarness,
    anomaly_id: int,
    note: str,
    key: str | None = None,
    who: Principal = FINANCE,
) -> AnomalyView:
    req = ResolveAnomalyRequest(anomaly_id=anomaly_id, resolution=note, idempotency_key=key)
    return await payment.call("resolve_anomaly", req, AnomalyView, who)


async def test_a_mismatched_success_is_listed_with_its_payment_and_resolved_once(
    payment: PaymentHarness, orders: Orders
) -> None:
    payment_id, order_id, total = await mismatched_payment(payment, orders)

    [anomaly] = (await listed(payment)).anomalies
    assert (anomaly.kind, anomaly.provider, anomaly.event_id) == (
        "amount_mismatch",
        "local",
        "evt-short",
    )
    assert (anomaly.payment_id, anomaly.order_id) == (payment_id, order_id)
    assert (anomaly.amount_cents, anomaly.currency, anomaly.payment_state) == (
        total,
        "EUR",
        "pending",
    )
    assert anomaly.details["expected_cents"] == total
    assert anomaly.details["reported_cents"] == total - 100
    assert anomaly.resolved_at is None
    assert anomaly.resolution is None

    note = "Provider confirmed a partial capture; refunded by hand, ticket 4711"
    resolved = await resolve(payment, anomaly.id, f"  {note} ", key="fix-1")
    assert resolved.resolution == note
    assert resolved.resolved_by == FINANCE.subject
    assert resolved.resolved_at is not None
    assert (await listed(payment)).anomalies == []
    [everything] = (await listed(payment, unresolved_only=False)).anomalies
    assert everything == resolved

    assert await resolve(payment, anomaly.id, f"  {note} ", key="fix-1") == resolved  # replayed
    with pytest.raises(Conflict) as twice:
        await resolve(payment, anomaly.id, "another note", key="fix-2")
    assert twice.value.field == "anomaly_id"
    with pytest.raises(Conflict):
        await resolve(payment, anomaly.id, "without a key")
    with pytest.raises(Conflict) as reused:  # the same key with another note
        await resolve(payment, anomaly.id, "another note", key="fix-1")
    assert reused.value.field == "idempotency_key"
    row = await payment.pool.fetchrow("SELECT * FROM payment.payment_anomalies")
    assert (row["resolution"], row["resolved_by"]) == (note, FINANCE.subject)


async def test_anomalies_are_listed_newest_first_a_page_at_a_time(
    payment: PaymentHarness, orders: Orders
) -> None:
    first, *_ = await mismatched_payment(payment, orders, "evt-one")
    second, *_ = await mismatched_payment(payment, orders, "evt-two")

    assert [a.payment_id for a in (await listed(payment)).anomalies] == [second, first]
    page = await listed(payment, limit=1, offset=1)
    assert [a.payment_id for a in page.anomalies] == [first]
    assert (page.limit, page.offset) == (1, 1)
    assert (await listed(payment, offset=2)).anomalies == []
    assert len((await listed(payment, who=ADMIN)).anomalies) == 2


async def test_only_finance_sees_or_resolves_anomalies(
    payment: PaymentHarness, orders: Orders
) -> None:
    await mismatched_payment(payment, orders)
    [anomaly] = (await listed(payment)).anomalies

    for who in (resident(), GIS_CLERK, Principal(subject="clerk-x", roles=("staff",))):
        with pytest.raises(Forbidden):
            await listed(payment, who=who)
        with pytest.raises(Forbidden):
            await resolve(payment, anomaly.id, "not mine to settle", who=who)
    with pytest.raises(Unauthenticated):
        await payment.call("list_anomalies", ListAnomaliesRequest(), AnomalyList, None)
    assert (
        await payment.pool.fetchval(
            "SELECT count(*) FROM payment.payment_anomalies WHERE resolved_at IS NULL"
        )
        == 1
    )


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"unresolved_only": "maybe"}, "unresolved_only"),
    ],
)
async def test_a_bad_filter_is_refused_naming_it(
    payment: PaymentHarness, request_body: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await payment.call("list_anomalies", request_body, AnomalyList, FINANCE)
    assert error.value.field == field


async def test_a_bad_resolution_is_refused_naming_it_and_changes_nothing(
    payment: PaymentHarness, orders: Orders
) -> None:
    await mismatched_payment(payment, orders)
    [anomaly] = (await listed(payment)).anomalies

    for body in (
        {"anomaly_id": anomaly.id, "resolution": ""},
        {"anomaly_id": anomaly.id, "resolution": "   "},
        {"anomaly_id": anomaly.id, "resolution": "x" * 501},
        {"anomaly_id": anomaly.id},
    ):
        with pytest.raises(ValidationFailed) as error:
            await payment.call("resolve_anomaly", body, AnomalyView, FINANCE)
        assert error.value.field == "resolution", body
    with pytest.raises(ValidationFailed) as error:
        await payment.call(
            "resolve_anomaly", {"anomaly_id": "one", "resolution": "ok"}, AnomalyView, FINANCE
        )
    assert error.value.field == "anomaly_id"
    with pytest.raises(NotFound) as missing:
        await resolve(payment, anomaly.id + 1000, "no such one")
    assert missing.value.field == "anomaly_id"
    assert (await listed(payment)).anomalies == [anomaly]
