"""A request whose text holds a NUL character is refused naming the field (PostgreSQL text
cannot store it: it was a 500 when a note reached the database)."""

from __future__ import annotations

import pytest

from shared.contracts.booking import ResourceUpsert
from shared.contracts.payment import ResolveAnomalyRequest
from shared.errors import ValidationFailed
from shared.messaging import decode_request


def test_a_nul_in_a_text_field_is_refused_naming_it() -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_request(b'{"anomaly_id": 1, "resolution": "paid\\u0000back"}', ResolveAnomalyRequest)
    assert refused.value.field == "resolution"


def test_a_nul_deep_in_a_request_is_named_by_its_path() -> None:
    body = (
        b'{"unit_id": "6f1c2f8e-0d7a-4c57-9a57-2a8d2c0c4a11", "kind": "space",'
        b' "name": {"fi": "Sali", "en": "Hall\\u0000"}}'
    )
    with pytest.raises(ValidationFailed) as refused:
        decode_request(body, ResourceUpsert)
    assert refused.value.field == "name.en"


def test_text_without_nul_and_an_escaped_backslash_u_pass() -> None:
    ok = decode_request(
        b'{"anomaly_id": 1, "resolution": "C:\\\\u0000 is a path, not a NUL"}',
        ResolveAnomalyRequest,
    )
    assert ok.resolution == "C:\\u0000 is a path, not a NUL"
