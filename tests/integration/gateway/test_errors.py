"""Errors are application/problem+json with a stable code and the field at fault."""

from __future__ import annotations

import uuid

from tests.integration.gateway.conftest import bearer

THING = uuid.uuid4()


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["title"]
    return body


async def test_service_errors_keep_their_code_and_field(client) -> None:
    auth = await bearer(client, "resident-turku")
    missing = await client.post(f"/api/v1/probe/{THING}", json={"text": "missing"}, headers=auth)
    assert_problem(missing, 404, "not_found")
    taken = await client.post(f"/api/v1/probe/{THING}", json={"text": "taken"}, headers=auth)
    assert assert_problem(taken, 409, "slot_unavailable")["field"] == "starts_at"
    invalid = await client.post(f"/api/v1/probe/{THING}", json={"text": "invalid"}, headers=auth)
    assert assert_problem(invalid, 422, "validation_failed")["field"] == "text"


async def test_a_service_error_code_the_gateway_does_not_know_keeps_its_4xx(client) -> None:
    auth = await bearer(client, "resident-turku")
    novel = await client.post(f"/api/v1/probe/{THING}", json={"text": "novel"}, headers=auth)
    problem = assert_problem(novel, 422, "rule_never_matches")
    assert problem["field"] == "text"
    assert problem["detail"] == "this rule never matches a date"


async def test_unknown_field_is_400_naming_it(client) -> None:
    auth = await bearer(client, "resident-turku")
    response = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "x", "colour": "red"}, headers=auth
    )
    assert assert_problem(response, 400, "validation_failed")["field"] == "colour"


async def test_unknown_nested_field_is_400_naming_it(client) -> None:
    auth = await bearer(client, "resident-turku")
    item = {
        "resource_id": str(uuid.uuid4()),
        "starts_at": "2030-01-07T10:00:00+00:00",
        "ends_at": "2030-01-07T11:00:00+00:00",
    }
    response = await client.post(
        "/api/v1/holds", json={"items": [item, {**item, "colour": "red"}]}, headers=auth
    )
    problem = assert_problem(response, 400, "validation_failed")
    assert problem["field"] == "items[1].colour", problem["errors"]
    assert "colour" in problem["detail"]
    missing = await client.post(
        "/api/v1/holds", json={"items": [{"resource_id": item["resource_id"]}]}, headers=auth
    )
    assert assert_problem(missing, 400, "validation_failed")["field"] == "items[0].starts_at"


async def test_wrong_type_is_400_naming_the_field(client) -> None:
    auth = await bearer(client, "resident-turku")
    response = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "x", "count": "many"}, headers=auth
    )
    assert assert_problem(response, 400, "validation_failed")["field"] == "count"
    bad_query = await client.get(f"/api/v1/probe/{THING}?limit=lots")
    assert assert_problem(bad_query, 400, "validation_failed")["field"] == "limit"
    bad_path = await client.get("/api/v1/probe/not-a-uuid")
    assert bad_path.status_code in (400, 404)


async def test_body_over_the_limit_is_413(client) -> None:
    auth = await bearer(client, "resident-turku")
    response = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "x" * 10_000}, headers=auth
    )
    assert_problem(response, 413, "payload_too_large")


async def test_service_not_answering_is_503_with_retry_after(client) -> None:
    nobody = await client.post(f"/api/v1/nobody/{THING}", json={"text": "x"})
    assert_problem(nobody, 503, "unavailable")
    assert int(nobody.headers["retry-after"]) > 0
    auth = await bearer(client, "resident-turku")
    slow = await client.post(f"/api/v1/probe/{THING}", json={"text": "slow"}, headers=auth)
    assert_problem(slow, 503, "unavailable")
    assert "retry-after" in slow.headers


async def test_a_crash_is_500_without_internals(client) -> None:
    auth = await bearer(client, "resident-turku")
    response = await client.post(f"/api/v1/probe/{THING}", json={"text": "crash"}, headers=auth)
    body = assert_problem(response, 500, "internal")
    assert "secret-internal-detail" not in response.text
    assert "Traceback" not in response.text
    assert body["detail"]


async def test_unknown_route_is_problem_json(client) -> None:
    assert_problem(await client.get("/api/v1/no-such-thing"), 404, "not_found")


async def test_unknown_query_parameter_is_400_naming_it(client) -> None:
    typo = await client.get(f"/api/v1/probe/{THING}?limt=5")
    problem = assert_problem(typo, 400, "validation_failed")
    assert problem["field"] == "limt"
    assert problem["errors"][0]["source"] == "query"
    assert "`limit`" in problem["detail"]  # the close match is suggested
    tracking = await client.get(f"/api/v1/probe/{THING}?limit=5&utm_source=newsletter")
    assert assert_problem(tracking, 400, "validation_failed")["field"] == "utm_source"
    auth = await bearer(client, "resident-turku")
    on_post = await client.post(f"/api/v1/probe/{THING}?count=2", json={"text": "x"}, headers=auth)
    assert assert_problem(on_post, 400, "validation_failed")["field"] == "count"
    declared = await client.get(f"/api/v1/probe/{THING}?limit=5&text=hello")
    assert declared.status_code == 200, declared.text
    assert (declared.json()["count"], declared.json()["text"]) == (5, "hello")


async def test_a_body_is_read_as_declared_not_coerced(client) -> None:
    """Found trying the API: a string was taken for an integer (`"amount_cents": "100"` made a
    refund) and a number of seconds for a date-time (a hold made from `"starts_at": 1797238800`)
    although the OpenAPI document declares an integer and an RFC 3339 date-time."""
    auth = await bearer(client, "resident-turku")
    text = await client.post(
        f"/api/v1/probe/{THING}", json={"text": "x", "count": "2"}, headers=auth
    )
    problem = assert_problem(text, 400, "validation_failed")
    assert problem["field"] == "count"
    assert "int" in problem["detail"]
    item = {
        "resource_id": str(uuid.uuid4()),
        "starts_at": 1797238800,
        "ends_at": "2026-12-11T11:00:00+00:00",
    }
    seconds = await client.post("/api/v1/holds", json={"items": [item]}, headers=auth)
    assert assert_problem(seconds, 400, "validation_failed")["field"] == "items[0].starts_at"
    fine = await client.post(f"/api/v1/probe/{THING}", json={"text": "x", "count": 2}, headers=auth)
    assert fine.status_code < 400, fine.text


async def test_an_operation_without_a_body_refuses_one_with_fields(client) -> None:
    """Found trying the API: `POST /api/v1/cart/checkout` with `{"foo": 1}` checked the cart
    out, while a body with a field too many is refused everywhere else."""
    auth = await bearer(client, "resident-turku")
    extra = await client.post("/api/v1/cart/checkout", json={"foo": 1}, headers=auth)
    assert assert_problem(extra, 400, "validation_failed")["field"] == "foo"
    for empty in ({"json": {}}, {}):
        answered = await client.post("/api/v1/cart/checkout", headers=auth, **empty)
        assert answered.status_code != 400, answered.text  # not refused for its body
