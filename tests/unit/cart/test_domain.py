"""The cart's pure rules: reference numbers, VAT, totals, area prices and state machines."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from services.cart.domain import entitlements, model
from services.cart.domain.pricing import (
    AreaPricing,
    AreaTier,
    PricedLine,
    area_price_cents,
    split_gross,
    totals,
)
from services.cart.domain.references import (
    finnish_reference,
    is_valid_finnish_reference,
    is_valid_rf_reference,
    order_number,
    reference_for_order,
    rf_reference,
)
from shared.contracts.cart import OrderState
from shared.errors import Conflict, Forbidden, Gone, ValidationFailed


def test_finnish_reference_check_digit_uses_weights_7_3_1() -> None:
    # 1234561: 1*7+6*3+5*1+4*7+3*3+2*1+1*7 -> check digit 1 (a bank's textbook example: 12345672)
    assert finnish_reference("1234567") == "12345672"
    assert finnish_reference("123") == "1232"
    assert is_valid_finnish_reference("12345672")
    assert not is_valid_finnish_reference("12345673")


def test_reference_base_is_three_to_nineteen_digits() -> None:
    with pytest.raises(ValidationFailed):
        finnish_reference("12")
    with pytest.raises(ValidationFailed):
        finnish_reference("12a4")


def test_rf_reference_follows_iso_11649() -> None:
    assert rf_reference("539007547034") == "RF18539007547034"  # the standard's example
    assert is_valid_rf_reference("RF18 5390 0754 7034")
    assert not is_valid_rf_reference("RF19539007547034")
    assert is_valid_rf_reference(rf_reference(reference_for_order(2026, 42)))


def test_order_number_and_its_reference() -> None:
    assert order_number(2026, 42) == "2026-000042"
    assert is_valid_finnish_reference(reference_for_order(2026, 42))


@pytest.mark.parametrize(
    ("gross", "bp", "net", "vat"),
    [(2000, 2550, 1594, 406), (1000, 1350, 881, 119), (1100, 1000, 1000, 100), (350, 0, 350, 0)],
)
def test_split_gross_gives_net_and_vat_in_cents(gross: int, bp: int, net: int, vat: int) -> None:
    assert split_gross(gross, bp) == (net, vat)


def test_totals_break_vat_down_per_rate_and_group_merchants() -> None:
    lines = [
        PricedLine("sports", 2000, *split_gross(2000, 1350), 1350),
        PricedLine("library", 350, 350, 0, 0),
        PricedLine("gis", 5000, *split_gross(5000, 2550), 2550),
        PricedLine("gis", 1000, *split_gross(1000, 2550), 2550),
    ]
    result = totals(lines)
    assert result.gross_cents == 8350
    assert [row.vat_rate_bp for row in result.vat] == [2550, 1350, 0]
    assert result.vat[0].gross_cents == 6000
    assert result.net_cents + result.vat_cents == result.gross_cents
    assert result.merchants == [("sports", 2000), ("library", 350), ("gis", 6000)]


def test_area_price_is_base_fee_plus_tiers_with_a_minimum_area() -> None:
    pricing = AreaPricing(
        base_fee_cents=2000,
        tiers=[AreaTier(10, 500), AreaTier(None, 200)],
        minimum_hectares=1,
    )
    assert area_price_cents(pricing, 5000) == (2500, 1)  # 0.5 ha charged as 1 ha
    assert area_price_cents(pricing, 150000) == (2000 + 10 * 500 + 5 * 200, 15)


def test_area_price_is_integer_cents_rounded_once_half_up() -> None:
    pricing = AreaPricing(
        base_fee_cents=0, tiers=[AreaTier(0.5, 333), AreaTier(None, 1)], minimum_hectares=0.1
    )
    # 0.5 ha x 333 c = 166.5 c, + 0.0001 ha x 1 c: 166.5001 -> 167 c; 0.1 ha minimum is 1000 m2
    assert area_price_cents(pricing, 5001) == (167, 0.5001)
    assert area_price_cents(pricing, 1) == (33, 0.1)  # 33.3 c
    price, hectares = area_price_cents(pricing, 12345)
    assert isinstance(price, int)
    assert hectares == 1.2345


ORDER_EDGES = [
    ("awaiting_payment", "payment_succeeded", "paid"),
    ("awaiting_payment", "payment_ended", "cancelled"),
    ("awaiting_payment", "window_expired", "cancelled"),
    ("paid", "all_lines_done", "fulfilled"),
    ("paid", "partly_refunded", "partially_refunded"),
    ("paid", "fully_refunded", "refunded"),
    ("fulfilled", "partly_refunded", "partially_refunded"),
    ("fulfilled", "fully_refunded", "refunded"),
    ("partially_refunded", "partly_refunded", "partially_refunded"),
    ("partially_refunded", "fully_refunded", "refunded"),
]


@pytest.mark.parametrize(("state", "event", "after"), ORDER_EDGES)
def test_every_order_edge(state: str, event: str, after: str) -> None:
    assert model.next_state(state, event) == after  # type: ignore[arg-type]


def test_order_edges_are_exactly_the_table() -> None:
    assert {(s, e): a for s, e, a in ORDER_EDGES} == model.TRANSITIONS


@pytest.mark.parametrize(
    ("state", "event"),
    [
        ("cancelled", "payment_succeeded"),
        ("paid", "payment_ended"),
        ("refunded", "partly_refunded"),
        ("awaiting_payment", "all_lines_done"),
        ("fulfilled", "window_expired"),
    ],
)
def test_an_order_refuses_edges_outside_the_table(state: str, event: str) -> None:
    with pytest.raises(Conflict):
        model.next_state(state, event)  # type: ignore[arg-type]


def test_every_order_state_and_event_is_an_edge_or_a_conflict() -> None:
    expected = {(s, e): a for s, e, a in ORDER_EDGES}
    for state in get_args(OrderState):
        for event in get_args(model.OrderEventName):
            if (state, event) in expected:
                assert model.next_state(state, event) == expected[(state, event)]
                assert model.can(state, event)
            else:
                assert not model.can(state, event)
                with pytest.raises(Conflict) as refused:
                    model.next_state(state, event)
                assert refused.value.details == {"state": state}


# Written out by hand: a wrong, missing or extra edge in LINE_TRANSITIONS fails these tests.
LINE_EDGES = [
    ("pending", "fulfil", "fulfilled"),
    ("pending", "queue", "queued"),
    ("pending", "registration_failed", "registration_failed"),
    ("pending", "request_refund", "refund_requested"),
    ("pending", "cancel", "cancelled"),
    ("queued", "fulfil", "fulfilled"),
    ("queued", "request_refund", "refund_requested"),
    ("registration_failed", "fulfil", "fulfilled"),
    ("registration_failed", "request_refund", "refund_requested"),
    ("fulfilled", "request_refund", "refund_requested"),
    ("fulfilled", "partly_refunded", "partially_refunded"),
    ("refund_requested", "refunded", "refunded"),
    ("refund_requested", "partly_refunded", "partially_refunded"),
    ("refund_requested", "resume_pending", "pending"),
    ("refund_requested", "resume_queued", "queued"),
    ("refund_requested", "resume_registration_failed", "registration_failed"),
    ("partially_refunded", "request_refund", "refund_requested"),
    ("refund_requested", "restore_fulfilled", "fulfilled"),  # the provider refused the refund
    ("refund_requested", "restore_partially_refunded", "partially_refunded"),
]


@pytest.mark.parametrize(("state", "event", "after"), LINE_EDGES)
def test_every_line_edge(state: str, event: str, after: str) -> None:
    assert model.next_line_state(state, event) == after  # type: ignore[arg-type]


def test_line_edges_are_exactly_the_table_and_every_other_move_is_a_conflict() -> None:
    expected = {(s, e): a for s, e, a in LINE_EDGES}
    assert expected == model.LINE_TRANSITIONS
    for state in get_args(model.LineState):
        for event in get_args(model.LineEventName):
            if (state, event) in expected:
                assert model.line_can(state, event)
            else:
                assert not model.line_can(state, event)
                with pytest.raises(Conflict):
                    model.next_line_state(state, event)


def test_a_line_refuses_edges_outside_the_table() -> None:
    with pytest.raises(Conflict):
        model.next_line_state("refunded", "fulfil")
    with pytest.raises(Conflict):
        model.next_line_state("cancelled", "request_refund")


def test_order_is_done_when_each_line_is_fulfilled_or_refunded() -> None:
    assert model.all_done(["fulfilled", "refunded"])
    assert not model.all_done(["fulfilled", "pending"])
    assert model.refund_event(["refunded", "refunded"]) == "fully_refunded"
    assert model.refund_event(["refunded", "fulfilled"]) == "partly_refunded"


def test_download_tokens_are_signed_and_expire() -> None:
    ident = uuid.uuid4()
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    token = entitlements.sign("secret", ident, now + timedelta(hours=1))
    assert entitlements.verify("secret", token, now) == ident
    with pytest.raises(Forbidden):
        entitlements.verify("other-secret", token, now)
    tampered = token.replace(ident.hex, uuid.uuid4().hex)
    with pytest.raises(Forbidden):
        entitlements.verify("secret", tampered, now)
    with pytest.raises(Gone):
        entitlements.verify("secret", token, now + timedelta(hours=2))


def test_a_partial_refund_ends_a_delivered_line_and_resumes_an_undelivered_one() -> None:
    assert model.partial_refund_target("fulfilled", goods_ended=False) == "partially_refunded"
    assert model.partial_refund_target("queued", goods_ended=False) == "queued"
    assert model.partial_refund_target("pending", goods_ended=True) == "partially_refunded"
    assert model.after_refund("refund_requested", "partially_refunded", 500, 1200) == (
        "partially_refunded"
    )
    assert model.after_refund("refund_requested", "queued", 500, 1200) == "queued"
    assert model.after_refund("refund_requested", "pending", 500, 1200) == "pending"
    assert model.after_refund("refund_requested", "queued", 1200, 1200) == "refunded"
    assert model.after_refund("fulfilled", None, 1200, 1200) == "refunded"
    assert model.after_refund("fulfilled", None, 100, 1200) == "partially_refunded"
    assert model.after_refund("partially_refunded", None, 1200, 1200) == "refunded"


def test_partially_refunded_lines_are_done_and_an_only_refunded_order_was_not_delivered() -> None:
    assert model.all_done(["partially_refunded", "refunded"])
    assert model.delivered(["partially_refunded", "refunded"])
    assert not model.delivered(["refunded", "cancelled"])
    assert model.refund_event(["partially_refunded", "fulfilled"]) == "partly_refunded"


def test_payment_says_which_payment_is_the_orders() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert model.orders_payment(2, first, None) == first
    assert model.orders_payment(2, second, first) == first  # a duplicate names the order's
    assert model.orders_payment(1, second, first) == second  # an old event says nothing


def test_a_refund_concerns_the_order_when_payment_says_its_payment_is_the_orders() -> None:
    paid_by, other = uuid.uuid4(), uuid.uuid4()
    # Payment's word (schema 2), whatever payment cart recorded (or none yet).
    assert model.refund_is_the_orders(2, other, paid_by, None, "staff")
    assert model.refund_is_the_orders(2, None, paid_by, None, "paid_after_cancel")
    assert not model.refund_is_the_orders(2, paid_by, other, paid_by, "staff")
    assert not model.refund_is_the_orders(2, other, other, None, "duplicate_payment")


def test_an_old_refund_event_concerns_the_order_only_when_of_the_recorded_payment() -> None:
    paid_by, other = uuid.uuid4(), uuid.uuid4()
    assert model.refund_is_the_orders(1, paid_by, paid_by, None, "staff")
    assert not model.refund_is_the_orders(1, paid_by, paid_by, None, "duplicate_payment")
    assert not model.refund_is_the_orders(1, paid_by, other, None, "staff")
    assert not model.refund_is_the_orders(1, None, other, None, "paid_after_cancel")
