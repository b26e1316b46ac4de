"""The Koha stand-in is held to facts read from each version's api/v1/swagger
(tests/standins/koha_swagger_facts.json), by its declarations and by how it answers, so it
cannot silently take what that version of Koha refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.standins import koha_api
from tests.standins.koha import KohaStandIn, KohaState

FACTS = json.loads((Path(koha_api.__file__).parent / "koha_swagger_facts.json").read_text())
CARD, PIN, PATRON = "2600123456", "1234", 51
WRONG = {  # a value of another type than the named one
    "string": 12345,
    "string(date)": "6.12.2026",
    "number": "1.00",
    "array<integer>": ["9001"],
    "string|null": 7,
}
RIGHT = {
    "string": "x",
    "string(date)": "2026-12-06",
    "number": 1.0,
    "array<integer>": [9001],
    "string|null": None,
}


def facts_of(version: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["method"], r["path"]): r for r in FACTS["routes"] if version in r["versions"]}


def test_the_facts_cover_every_supported_version() -> None:
    from services.cart.library.koha import SUPPORTED_VERSIONS

    assert koha_api.VERSIONS == SUPPORTED_VERSIONS
    for version in koha_api.VERSIONS:
        assert facts_of(version), version


@pytest.mark.parametrize("version", koha_api.VERSIONS)
def test_the_standin_declares_what_the_swagger_says(version: str) -> None:
    facts = facts_of(version)
    declared = {(r.method, r.path): r for r in koha_api.routes(version)}
    assert set(declared) == set(facts)
    for key, fact in facts.items():
        route = declared[key]
        assert route.success == fact["success"], key
        assert route.auth == fact["auth"], key
        assert route.permissions == fact.get("permissions", {}), key
        assert route.query == frozenset(fact.get("query", [])), key
        assert route.list == fact.get("list", False), key
        for part in ("body", "form"):
            schema = getattr(route, part)
            if part not in fact:
                assert schema is None, key
                continue
            assert schema is not None, key
            assert schema.required == frozenset(fact[part]["required"]), key
            assert schema.allowed == frozenset(fact[part]["allowed"]), key
            assert schema.types == fact[part]["types"], key
            assert schema.additional_properties == fact[part].get("additional_properties", True)


@pytest.fixture(params=koha_api.VERSIONS)
def standin(request: Any) -> Iterator[KohaStandIn]:
    state = KohaState(version=request.param)
    state.cards[CARD] = (PIN, PATRON)
    state.add_debit(PATRON, 9001, "OVERDUE", "2.40", "Myöhästymismaksu")
    with KohaStandIn(state) as koha:
        yield koha


def valid_request(version: str, path: str) -> dict[str, Any]:
    """A request that version's Koha takes, per route (body or form)."""
    if path == "/api/v1/oauth/token":
        return {"grant_type": "client_credentials", "client_id": "cart-client"} | {
            "client_secret": "cart-secret"
        }
    if path == "/api/v1/auth/password/validation":
        who = {"userid": f"patron{PATRON}"} if version < "23.11" else {"identifier": CARD}
        return who | {"password": PIN}
    if path.endswith("/credits"):
        return {"amount": 0.1, "payment_type": "ONLINE", "library_id": "MAIN"}
    return {}


def call(client: httpx.Client, method: str, path: str, payload: dict[str, Any], form: bool):
    path = path.replace("{patron_id}", str(PATRON))
    if form:
        return client.request(method, path, data=payload)
    if method == "GET":
        return client.request(method, path)
    return client.request(method, path, json=payload)


def is_spec_refusal(response: httpx.Response) -> bool:
    return response.status_code == 400 and "errors" in response.json()


def test_the_standin_answers_as_the_swagger_says(standin: KohaStandIn) -> None:
    version = standin.state.version
    with httpx.Client(base_url=standin.url) as anonymous:
        token = anonymous.post(
            "/api/v1/oauth/token", data=valid_request(version, "/api/v1/oauth/token")
        )
        assert token.status_code == 200
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with httpx.Client(base_url=standin.url, headers=bearer) as client:
        for (method, path), fact in facts_of(version).items():
            part = "form" if "form" in fact else "body"
            valid = valid_request(version, path)
            ok = call(client, method, path, valid, part == "form")
            assert ok.status_code == fact["success"], (method, path, ok.text)
            for name in fact.get("success_fields", []):
                assert name in ok.json(), (method, path, name)
            if fact.get("list"):
                assert {"x-total-count", "link"} <= set(ok.headers), (method, path)
            if part not in fact:
                continue
            schema = fact[part]
            for name in schema["required"]:
                missing = {k: v for k, v in valid.items() if k != name}
                refused = call(client, method, path, missing, part == "form")
                assert is_spec_refusal(refused), (method, path, "missing", name)
            if part == "body" and not schema.get("additional_properties", True):
                extra = call(client, method, path, valid | {"cash_drawer": "1"}, False)
                assert is_spec_refusal(extra), (method, path, "unknown field")
            for name, kind in schema["types"].items():
                if part == "form":
                    continue  # form fields arrive as strings
                wrong = call(client, method, path, valid | {name: WRONG[kind]}, False)
                assert is_spec_refusal(wrong), (method, path, "type of", name)
                right = call(client, method, path, valid | {name: RIGHT[kind]}, False)
                assert not is_spec_refusal(right), (method, path, "allowed", name, right.text)


def test_the_standin_answers_401_without_a_token_and_403_without_permission(
    standin: KohaStandIn,
) -> None:
    version = standin.state.version
    with httpx.Client(base_url=standin.url) as anonymous:
        token = anonymous.post(
            "/api/v1/oauth/token", data=valid_request(version, "/api/v1/oauth/token")
        )
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for (method, path), fact in facts_of(version).items():
            if not fact["auth"]:
                continue
            bare = call(anonymous, method, path, valid_request(version, path), False)
            assert bare.status_code == 401, (method, path)
            standin.state.permissions = set()
            with httpx.Client(base_url=standin.url, headers=bearer) as client:
                denied = call(client, method, path, valid_request(version, path), False)
            assert denied.status_code == 403, (method, path)
            granted = {
                flag if sub == "1" else f"{flag}:{sub}" for flag, sub in fact["permissions"].items()
            }
            standin.state.permissions = granted  # exactly what the route asks, nothing more
            with httpx.Client(base_url=standin.url, headers=bearer) as client:
                allowed = call(client, method, path, valid_request(version, path), False)
            assert allowed.status_code == fact["success"], (method, path, allowed.text)
            standin.state.permissions = {"borrowers", "updatecharges"}
        gone = anonymous.get(f"/api/v1/patrons/{PATRON}/account/debits")
        assert gone.status_code == 404  # not a route the cart may rely on


def test_a_credit_pays_the_chosen_debits_first_and_what_is_left_the_others(
    standin: KohaStandIn,
) -> None:
    state = standin.state
    state.add_debit(PATRON, 9002, "RESERVE", "1.00", "Varausmaksu")
    state.add_debit(PATRON, 9003, "LOST", "5.00", "Kadonnut")
    state.pay_at_desk(PATRON, 9003, "4.50")
    with httpx.Client(base_url=standin.url) as client:
        token = client.post(
            "/api/v1/oauth/token", data=valid_request(state.version, "/api/v1/oauth/token")
        )
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        credit = {"amount": 3.00, "account_lines_ids": [9002], "payment_type": "ONLINE"}
        paid = client.post(
            f"/api/v1/patrons/{PATRON}/account/credits", json=credit | {"library_id": "MAIN"}
        )
        assert paid.status_code == 201
        account = client.get(f"/api/v1/patrons/{PATRON}/account").json()
    # 1.00 to the chosen 9002, then 2.00 to the others in order: 9001 (2.40 -> 0.40)
    assert {
        d["account_line_id"]: d["amount_outstanding"]
        for d in account["outstanding_debits"]["lines"]
    } == {
        9001: pytest.approx(0.40),
        9003: pytest.approx(0.50),
    }
