"""The Stripe stand-in against the facts of Stripe's published OpenAPI document
(tests/standins/stripe_spec_facts.json, written by tests/standins/make_stripe_facts.py from
stripe/openapi at the commit it names): it accepts no parameter Stripe does not know, requires
every one Stripe requires, answers only fields Stripe documents (with every required one), and
refuses, replays and pages as Stripe does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.standins.stripe_api import ENDPOINTS, P, StripeStandIn, running_standin

FACTS = json.loads((Path(__file__).parents[2] / "standins" / "stripe_spec_facts.json").read_text())
KEY = {"Authorization": "Bearer sk_test_spec"}


def _compare(ours: dict[str, P], spec: dict[str, Any], where: str) -> list[str]:
    problems = []
    for name, p in ours.items():
        node = spec.get(name)
        if node is None:
            problems.append(f"{where}{name}: not a parameter in Stripe's spec")
            continue
        if p.enum and node.get("enum") and not set(p.enum) <= set(node["enum"]):
            problems.append(f"{where}{name}: enum {p.enum} beyond {node['enum']}")
        inner = p.item if p.kind == "list" and p.item is not None else p
        if inner.kind == "obj" and "children" in node:
            problems += _compare(inner.fields, node["children"], f"{where}{name}.")
    for name, node in spec.items():
        if node.get("required") and not (name in ours and ours[name].required):
            problems.append(f"{where}{name}: required by Stripe, not by the stand-in")
    return problems


def test_the_facts_name_their_source() -> None:
    source = FACTS["source"]
    assert source["repository"] == "stripe/openapi"
    assert len(source["commit"]) == 40
    assert "between 1 and 100" in FACTS["list"]["limit_description"]
    assert "30 minutes to 24 hours" in FACTS["checkout_session_expires_at"]
    for status in ("pending", "succeeded", "failed", "canceled"):
        assert f"`{status}`" in FACTS["refund_status_description"]


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS), ids=lambda e: f"{e[0]} {e[1]}")
def test_the_standin_accepts_only_and_requires_all_of_stripes_parameters(
    endpoint: tuple[str, str],
) -> None:
    method, route = endpoint
    spec = FACTS["endpoints"][f"{method} {route}"]
    assert _compare(ENDPOINTS[endpoint], spec, "") == []


@pytest.fixture
def standin() -> Iterator[StripeStandIn]:
    with running_standin() as running:
        yield running


def call(standin: StripeStandIn, method: str, path: str, data: Any = None, **headers: str) -> Any:
    response = httpx.request(
        method, standin.url + path, data=data, params=None, headers={**KEY, **headers}, timeout=5
    )
    return response


def session_form(expires_in: int = 3600, **extra: str) -> dict[str, str]:
    return {
        "mode": "payment",
        "currency": "eur",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "1200",
        "line_items[0][price_data][product_data][name]": "Opaskartta",
        "line_items[0][quantity]": "1",
        "client_reference_id": "pay-1",
        "metadata[payment_id]": "pay-1",
        "payment_intent_data[metadata][payment_id]": "pay-1",
        "success_url": "https://varaukset.example/orders/1",
        "cancel_url": "https://varaukset.example/cart",
        "expires_at": str(int(time.time()) + expires_in),
        **extra,
    }


def check_object(obj: dict[str, Any]) -> None:
    facts = FACTS["objects"][obj["object"]]
    assert set(facts["required"]) <= obj.keys(), (
        obj["object"],
        set(facts["required"]) - obj.keys(),
    )
    assert obj.keys() <= set(facts["properties"]), (
        obj["object"],
        obj.keys() - set(facts["properties"]),
    )
    for name, values in facts["enums"].items():
        if obj.get(name) is not None:
            assert obj[name] in values, (obj["object"], name, obj[name])


def check_error(response: httpx.Response, status: int, type_: str, code: str | None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error.keys() <= set(FACTS["error"]["properties"])
    assert error["type"] in FACTS["error"]["types"]
    assert (error["type"], error.get("code")) == (type_, code)
    return error


def test_every_object_the_standin_answers_has_stripes_fields(standin: StripeStandIn) -> None:
    created = call(standin, "POST", "/v1/checkout/sessions", session_form())
    session = created.json()
    assert created.status_code == 200, created.text
    paid = standin.pay(session["id"])
    intent_id = standin.sessions[session["id"]]["payment_intent"]
    refund = call(
        standin, "POST", "/v1/refunds", {"payment_intent": intent_id, "amount": "200"}
    ).json()
    standin.refund_mode = "pending"
    pending = call(standin, "POST", "/v1/refunds", {"payment_intent": intent_id, "amount": "100"})
    failed = standin.settle_refund(pending.json()["id"], "failed")
    disputed = standin.dispute(intent_id)
    standin.pay_out()
    expanded = call(
        standin,
        "GET",
        f"/v1/payment_intents/{intent_id}?expand[0]=latest_charge.balance_transaction",
    ).json()
    lists = [
        call(standin, "GET", "/v1/balance_transactions?limit=100&expand[0]=data.source").json(),
        call(standin, "GET", "/v1/payouts").json(),
    ]

    objects = [session, refund, expanded, expanded["latest_charge"]]
    objects += [expanded["latest_charge"]["balance_transaction"]]
    objects += [e for e in [*paid, *failed, *disputed, *standin.events]]
    objects += [e["data"]["object"] for e in standin.events]
    objects += [item for page in lists for item in page["data"]]
    objects += [t["source"] for t in lists[0]["data"]]
    for obj in objects:
        check_object(obj)
    kinds = {o["object"] for o in objects}
    assert kinds >= set(FACTS["objects"]) - set(), kinds


def test_the_standin_refuses_what_stripe_refuses(standin: StripeStandIn) -> None:
    post = "/v1/checkout/sessions"
    error = check_error(
        call(standin, "POST", post, session_form(shipping="x")),
        400,
        "invalid_request_error",
        "parameter_unknown",
    )
    assert error["param"] == "shipping"
    nested = session_form(**{"line_items[0][price_data][colour]": "red"})
    error = check_error(
        call(standin, "POST", post, nested), 400, "invalid_request_error", "parameter_unknown"
    )
    assert error["param"] == "line_items[0][price_data][colour]"
    no_success = {k: v for k, v in session_form().items() if k != "success_url"}
    error = check_error(
        call(standin, "POST", post, no_success), 400, "invalid_request_error", "parameter_missing"
    )
    assert error["param"] == "success_url"
    for seconds in (29 * 60, 25 * 3600):  # Stripe: 30 minutes to 24 hours
        check_error(
            call(standin, "POST", post, session_form(expires_in=seconds)),
            400,
            "invalid_request_error",
            "parameter_invalid_integer",
        )
    small = session_form(**{"line_items[0][price_data][unit_amount]": "49"})
    check_error(
        call(standin, "POST", post, small), 400, "invalid_request_error", "amount_too_small"
    )
    for limit in ("0", "101", "x"):
        check_error(
            call(standin, "GET", f"/v1/payouts?limit={limit}"),
            400,
            "invalid_request_error",
            "parameter_invalid_integer",
        )
    check_error(
        call(standin, "GET", "/v1/balance_transactions?starting_after=txn_nope"),
        404,
        "invalid_request_error",
        "resource_missing",
    )
    unauthorised = httpx.get(
        standin.url + "/v1/payouts", headers={"Authorization": "Bearer sk_live_x"}
    )
    assert unauthorised.status_code == 401


def test_idempotency_replays_the_first_answer_and_refuses_other_parameters(
    standin: StripeStandIn,
) -> None:
    form = session_form()  # once: its expires_at is from the clock (a second may pass)
    first = call(standin, "POST", "/v1/checkout/sessions", form, **{"Idempotency-Key": "k1"})
    again = call(standin, "POST", "/v1/checkout/sessions", form, **{"Idempotency-Key": "k1"})
    other = call(
        standin,
        "POST",
        "/v1/checkout/sessions",
        {**form, "client_reference_id": "pay-2"},
        **{"Idempotency-Key": "k1"},
    )
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(standin.sessions) == 1
    check_error(other, 400, "idempotency_error", None)
    # An error of a request that began executing is replayed too.
    standin.pay(first.json()["id"])
    intent = standin.sessions[first.json()["id"]]["payment_intent"]
    too_much = {"payment_intent": intent, "amount": "999999"}
    refused = call(standin, "POST", "/v1/refunds", too_much, **{"Idempotency-Key": "k2"})
    replayed = call(standin, "POST", "/v1/refunds", too_much, **{"Idempotency-Key": "k2"})
    check_error(refused, 400, "invalid_request_error", "amount_too_large")
    assert replayed.json() == refused.json()
    assert replayed.headers["Idempotent-Replayed"] == "true"


def test_lists_page_newest_first_with_starting_after_and_has_more(standin: StripeStandIn) -> None:
    standin.sales_elsewhere(list(range(100, 125)))
    seen: list[str] = []
    after = ""
    while True:
        page = call(standin, "GET", f"/v1/balance_transactions?limit=10{after}").json()
        seen += [t["id"] for t in page["data"]]
        if not page["has_more"]:
            break
        after = f"&starting_after={page['data'][-1]['id']}"
    assert seen == [t["id"] for t in reversed(standin.balance)]
    assert len(seen) == 25


def test_sessions_complete_or_expire_once_and_webhooks_are_signed(standin: StripeStandIn) -> None:
    session = call(standin, "POST", "/v1/checkout/sessions", session_form()).json()
    expired = call(standin, "POST", f"/v1/checkout/sessions/{session['id']}/expire")
    assert expired.json()["status"] == "expired"
    check_error(
        call(standin, "POST", f"/v1/checkout/sessions/{session['id']}/expire"),
        400,
        "invalid_request_error",
        None,
    )
    with pytest.raises(ValueError, match="expired"):
        standin.pay(session["id"])
    [event] = standin.events_of("checkout.session.expired")
    check_object(event)
    page = httpx.get(session["url"])
    assert "no longer available" in page.text
