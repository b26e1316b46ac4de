"""Settings from the environment, field names in validation errors, the error envelope."""

from __future__ import annotations

import msgspec
import pytest

from shared.errors import ErrorBody, NotFound, ServiceError, ValidationFailed, status_for
from shared.messaging import child_traceparent, decode_request, field_of
from shared.settings import CommonSettings, SettingsError, from_env, refuse_in_production


def test_settings_come_from_the_environment_with_types() -> None:
    settings = from_env(
        CommonSettings, {"ENV": "production", "REQUEST_TIMEOUT_S": "2.5", "NATS_URL": "nats://x"}
    )
    assert settings.is_production
    assert settings.request_timeout_s == 2.5
    assert settings.nats_url == "nats://x"
    assert settings.database_url is None


def test_a_bad_setting_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="REQUEST_TIMEOUT_S"):
        from_env(CommonSettings, {"REQUEST_TIMEOUT_S": "soon"})
    with pytest.raises(SettingsError, match="ENV"):
        from_env(CommonSettings, {"ENV": "staging"})


def test_production_refuses_development_values() -> None:
    production = CommonSettings(env="production")
    with pytest.raises(SettingsError, match="demo users"):
        refuse_in_production(production, ["demo users are enabled"])
    refuse_in_production(CommonSettings(env="development"), ["demo users are enabled"])
    refuse_in_production(production, [])


class Line(msgspec.Struct, forbid_unknown_fields=True):
    places: int
    note: str = ""


class Hold(msgspec.Struct, forbid_unknown_fields=True):
    resource_id: str
    lines: list[Line]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"lines": []}', "resource_id"),
        (b'{"resource_id": 5, "lines": []}', "resource_id"),
        (b'{"resource_id": "r", "lines": [{"places": "two"}]}', "lines[0].places"),
        (b'{"resource_id": "r", "lines": [{}]}', "lines[0].places"),
        (b'{"resource_id": "r", "lines": [], "colour": "red"}', "colour"),
        (b'{"resource_id": "r", "lines": [{"places": 1, "size": 2}]}', "lines[0].size"),
        (b"{not json", "body"),
    ],
)
def test_bad_requests_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_request(body, Hold)
    assert caught.value.field == field
    assert caught.value.status == 422


def test_unknown_field_message_names_it() -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(b'{"resource_id": "r", "lines": [], "colour": 1}', type=Hold)
    assert field_of(caught.value) == "colour"
    assert "colour" in str(caught.value)


def test_error_envelope_round_trips_to_the_same_type() -> None:
    error = NotFound("no such resource", field="resource_id", resource_id="abc")
    again = ServiceError.from_body(
        msgspec.json.decode(msgspec.json.encode(error.to_body()), type=ErrorBody)
    )
    assert isinstance(again, NotFound)
    assert again.field == "resource_id"
    assert again.details["resource_id"] == "abc"
    unknown = ServiceError.from_body(ErrorBody(code="brand_new", message="?"))
    assert unknown.code == "brand_new"
    assert status_for("slot_unavailable") == 409
    assert status_for("unavailable") == 503
    assert status_for("nonsense") == 500


def test_trace_context_keeps_the_trace_and_makes_a_new_span() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    child = child_traceparent(parent)
    assert child.startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert child != parent
    assert len(child_traceparent("garbage").split("-")) == 4
