"""What a service records of an operation (shared/audit_trail.py)."""

from __future__ import annotations

import uuid

import msgspec

from shared.audit_trail import MASK, record_of, recorded
from shared.contracts.common import Principal, RequestContext
from shared.errors import Forbidden

STAFF = Principal(subject="staff-sports", roles=("staff",), departments=("sports",))
RESIDENT = Principal(subject="resident-aino", roles=("resident",))
SYSTEM = Principal(subject="system:cart", roles=("system",), kind="service")


class Cancel(msgspec.Struct):
    reservation_id: uuid.UUID
    reason: str
    idempotency_key: str | None = None


class View(msgspec.Struct):
    id: str
    customer: str
    email: str
    owner_name: dict[str, str]


def ctx(who: Principal | None) -> RequestContext:
    return RequestContext(principal=who, request_id="r1", client_address="10.0.0.9")


def test_a_staff_change_names_actor_object_person_and_masks_personal_fields() -> None:
    rid = uuid.uuid4()
    reply = View(id="x", customer="resident-aino", email="aino@example.fi", owner_name={})
    record = record_of(
        "booking", "cancel", False, ctx(STAFF), Cancel(rid, "rain", "key-1"), reply, None
    )
    assert record is not None
    assert (record.kind, record.outcome, record.actor) == ("change", "ok", "staff-sports")
    assert (record.object_type, record.object_id) == ("reservation", str(rid))
    assert record.person == "resident-aino"  # the audit service keeps only a pseudonym
    assert record.client_address == "10.0.0.9"
    assert record.changes == {"reservation_id": str(rid), "reason": "rain"}
    assert record.after["customer"] == MASK
    assert record.after["email"] == MASK


def test_refusals_are_recorded_residents_and_service_reads_are_not() -> None:
    req = Cancel(uuid.uuid4(), "x")
    refused = record_of("booking", "cancel", False, ctx(STAFF), req, None, Forbidden("no"))
    assert refused is not None
    assert (refused.kind, refused.outcome) == ("refused", "forbidden")
    assert record_of("booking", "cancel", False, ctx(RESIDENT), req, None, None) is None
    assert record_of("booking", "get", True, ctx(SYSTEM), req, None, None) is None
    assert record_of("booking", "cancel", False, ctx(None), req, None, None) is None
    system = record_of("booking", "extend_holds", False, ctx(SYSTEM), req, None, None)
    assert system is not None
    assert system.actor == "system:cart"


def test_a_staff_view_records_what_was_looked_at_not_the_data() -> None:
    reply = View(id="x", customer="resident-aino", email="aino@example.fi", owner_name={})
    view = record_of("cart", "get_order", True, ctx(STAFF), Cancel(uuid.uuid4(), ""), reply, None)
    assert view is not None
    assert view.kind == "view"
    assert "aino" not in msgspec.json.encode(view.after).decode()
    assert view.person == "resident-aino"


def test_a_large_value_is_recorded_by_its_size() -> None:
    assert recorded({"text": "x" * 20_000})["omitted"] == "too large"
