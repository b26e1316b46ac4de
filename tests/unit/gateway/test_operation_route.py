"""Routes declared with their request and reply classes: strict bodies, and a route whose type
is missing or whose path does not fit its request fails when it is declared (not silently)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
import pytest

from services.gateway.routes.operation import OperationRoute, RouteDeclarationError
from services.gateway.routes.strict import body_struct
from services.gateway.routes.who import ANYONE, STAFF


class RenameRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`demo.v1.rename`: rename a thing."""

    thing_id: uuid.UUID
    name: str
    tags: list[str] = msgspec.field(default_factory=list)
    idempotency_key: str | None = None


class ListRequest(msgspec.Struct, frozen=True, kw_only=True):
    state: str | None = None
    limit: int = 50


class Thing(msgspec.Struct, frozen=True, kw_only=True):
    name: str


def rename(path: str = "/things/{thing_id:uuid}", **options: Any) -> OperationRoute[Any, Any]:
    values: dict[str, Any] = {
        "method": "POST",
        "path": path,
        "subject": "demo.v1.rename",
        "request": RenameRequest,
        "reply": Thing,
        "who": STAFF,
        "summary": "Rename",
    }
    values.update(options)
    return OperationRoute(**values)


def test_a_route_names_its_operation_and_types() -> None:
    route = rename()
    assert (route.call.subject, route.call.request, route.call.reply) == (
        "demo.v1.rename",
        RenameRequest,
        Thing,
    )
    handler = route.handler()
    assert handler.opt["call"] == route.call
    assert handler.opt["who"] is STAFF
    assert handler.opt["public_names"] == {"idempotency_key": "Idempotency-Key"}
    assert handler.status_code == 201
    assert handler.operation_id == "demo_v1_rename"
    assert set(handler.parsed_fn_signature.parameters) == {
        "request",
        "thing_id",
        "data",
        "idempotency_key",
    }
    assert "Service operation: `demo.v1.rename`" in (handler.description or "")


def test_a_path_parameter_that_is_not_a_request_field_fails_at_declaration() -> None:
    with pytest.raises(RouteDeclarationError, match=r"path parameter 'other_id'.*RenameRequest"):
        rename("/things/{other_id:uuid}")


@pytest.mark.parametrize("missing", ["request", "reply"])
def test_a_missing_or_untyped_request_or_reply_fails_at_declaration(missing: str) -> None:
    for wrong in (None, dict[str, Any], "Thing"):
        with pytest.raises(RouteDeclarationError, match=f"the {missing} type must be"):
            rename(**{missing: wrong})


def test_a_malformed_subject_fails_at_declaration() -> None:
    with pytest.raises(RouteDeclarationError, match="subject"):
        rename(subject="rename")


def test_gets_take_the_request_fields_as_query_parameters() -> None:
    route = OperationRoute("GET", "/things", "demo.v1.list", ListRequest, Thing, ANYONE, "List")
    handler = route.handler()
    # `state` is Litestar's own argument name: the handler calls it `state_`, errors say `state`
    assert set(handler.parsed_fn_signature.parameters) == {"request", "state_", "limit"}
    assert handler.opt["public_names"] == {"state_": "state"}
    assert handler.status_code == 200


def test_body_drops_path_and_key_fields_and_forbids_unknown_ones() -> None:
    body = body_struct(RenameRequest, {"thing_id", "idempotency_key"})
    assert body is not None
    assert body.__struct_fields__ == ("name", "tags")
    assert msgspec.json.decode(b'{"name": "x"}', type=body).tags == []
    with pytest.raises(msgspec.ValidationError, match="colour"):
        msgspec.json.decode(b'{"name": "x", "colour": "red"}', type=body)


class Line(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    quantity: int = 1


class Basket(msgspec.Struct, frozen=True, kw_only=True):
    lines: list[Line]
    gift: Line | None = None
    by_name: dict[str, tuple[Line, ...]] = msgspec.field(default_factory=dict)
    note: Annotated[str, msgspec.Meta(max_length=5)] = ""


class BasketRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`demo.v1.basket`."""

    basket: Basket
    idempotency_key: str | None = None


@pytest.mark.parametrize(
    ("document", "where"),
    [
        (b'{"basket": {"lines": [{"sku": "a", "colour": "red"}]}}', "$.basket.lines[0]"),
        (b'{"basket": {"lines": [], "gift": {"sku": "a", "colour": "red"}}}', "$.basket.gift"),
        (
            b'{"basket": {"lines": [], "by_name": {"x": [{"sku": "a", "colour": "red"}]}}}',
            "$.basket.by_name[...][0]",
        ),
        (b'{"basket": {"lines": [], "colour": "red"}}', "$.basket"),
    ],
)
def test_nested_bodies_forbid_unknown_fields_too(document: bytes, where: str) -> None:
    body = body_struct(BasketRequest, {"idempotency_key"})
    assert body is not None
    with pytest.raises(msgspec.ValidationError, match="colour") as raised:
        msgspec.json.decode(document, type=body)
    assert where in str(raised.value)


def test_strict_bodies_keep_defaults_and_constraints() -> None:
    body = body_struct(BasketRequest, {"idempotency_key"})
    assert body is not None
    decoded = msgspec.json.decode(b'{"basket": {"lines": [{"sku": "a"}]}}', type=body)
    assert decoded.basket.lines[0].quantity == 1
    assert decoded.basket.by_name == {}
    with pytest.raises(msgspec.ValidationError, match="length"):
        msgspec.json.decode(b'{"basket": {"lines": [], "note": "too long"}}', type=body)
    # The service gets the same JSON as from its own contract.
    assert msgspec.json.decode(msgspec.json.encode(decoded), type=BasketRequest).basket.lines == [
        Line(sku="a")
    ]
