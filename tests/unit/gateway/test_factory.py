"""Routes made from operations: body types, discovery by subject, routes only for real ops."""

from __future__ import annotations

import types
import uuid
from typing import Annotated

import msgspec
import pytest

from services.gateway.routes.factory import ANYONE, body_struct, ops_from, request_struct


class RenameRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`demo.v1.rename`: rename a thing."""

    thing_id: uuid.UUID
    name: str
    tags: list[str] = msgspec.field(default_factory=list)
    idempotency_key: str | None = None


class Thing(msgspec.Struct, frozen=True, kw_only=True):
    name: str


CONTRACTS = types.SimpleNamespace(RenameRequest=RenameRequest, Thing=Thing)


def test_body_drops_path_and_key_fields_and_forbids_unknown_ones() -> None:
    body = body_struct(RenameRequest, {"thing_id", "idempotency_key"})
    assert body is not None
    assert body.__struct_fields__ == ("name", "tags")
    assert msgspec.json.decode(b'{"name": "x"}', type=body).tags == []
    with pytest.raises(msgspec.ValidationError, match="colour"):
        msgspec.json.decode(b'{"name": "x", "colour": "red"}', type=body)


class MentionsRename(msgspec.Struct, frozen=True, kw_only=True):
    """`demo.v1.retag`: see also `demo.v1.rename`."""

    tags: list[str]


def test_request_struct_is_found_by_the_subject_in_its_docstring() -> None:
    mixed = types.SimpleNamespace(MentionsRename=MentionsRename, RenameRequest=RenameRequest)
    assert request_struct(CONTRACTS, "demo.v1.rename") is RenameRequest
    assert request_struct(mixed, "demo.v1.rename") is RenameRequest  # not the one mentioning it
    assert request_struct(mixed, "demo.v1.retag") is MentionsRename
    assert request_struct(CONTRACTS, "demo.v1.other") is None


def test_routes_appear_only_for_operations_whose_contracts_exist() -> None:
    specs = [
        ("POST", "/things/{thing_id:uuid}", "rename", None, "Thing", ANYONE, "Rename"),
        ("POST", "/things/{thing_id:uuid}/x", "missing", None, None, ANYONE, "Missing"),
        ("POST", "/other/{other_id:uuid}", "rename", None, None, ANYONE, "Other shape"),
    ]
    ops = ops_from(CONTRACTS, "demo", specs)
    assert [(op.subject, op.path) for op in ops] == [("demo.v1.rename", "/things/{thing_id:uuid}")]


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
