"""The gateway's whole OpenAPI document is valid OpenAPI 3.1 (checked by
openapi-spec-validator), so client generators and the reference UI can read it."""

from __future__ import annotations

import msgspec
from openapi_spec_validator import validate

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.settings import CommonSettings


def test_the_whole_openapi_document_is_valid() -> None:
    app = create_app(CommonSettings(env="test"), GatewaySettings())
    document = msgspec.json.decode(msgspec.json.encode(app.openapi_schema.to_schema()))
    validate(document)  # as served: JSON
    assert len([p for p in document["paths"] if p.startswith("/api/v1/")]) > 50
