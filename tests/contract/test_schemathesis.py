"""Every route against its own declaration: schemathesis over the whole OpenAPI document.

The real gateway (`create_app`, rate limits off) in front of the real booking, cart and payment
services with the Turku demo data (tests/integration/gateway/services.py). Every operation of
`/api/openapi.json` is called with generated valid and invalid input, as each role (a demo
user's token: resident, staff, library_clerk, gis_clerk, finance, admin) and with an API key.
Checks on every reply:
- no 5xx; the status code, content type, headers and body conform to the operation's
  declaration; invalid input is refused (4xx);
- a state-changing request repeated with the same `Idempotency-Key` gives the same answer.

Bounded for `make test`: `SCHEMATHESIS_EXAMPLES` examples (default 2) per operation, identity
and mode, Hypothesis derandomized (the same cases every run), no shrinking. A larger budget:
`SCHEMATHESIS_EXAMPLES=50 pytest tests/contract`.

Schemathesis calls the app through its own ASGI client in a worker thread (its own event loop);
the services stay in the test's loop, which is free while the thread runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.python import asgi as schemathesis_asgi

from services.booking import demo
from services.gateway.app import create_app
from shared.settings import CommonSettings
from tests.integration.audit.conftest import hosted_audit
from tests.integration.gateway.conftest import gateway_settings
from tests.integration.gateway.services import real_services

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "2"))
# Who calls: a demo user per role, and an integration client with every scope.
USERS = {
    "resident": "resident-turku",
    "staff": "clerk-sports",
    "library_clerk": "clerk-library",
    "gis_clerk": "clerk-gis",
    "finance": "finance",
    "admin": "admin",
}
API_KEY = "contract.s3cr3t-every-scope"
API_KEYS = json.dumps(
    [
        {
            "id": "contract",
            "sha256": hashlib.sha256(API_KEY.encode()).hexdigest(),
            "scopes": ["finance", "refunds", "library", "gis"],
            "roles": ["finance"],
        }
    ]
)
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Valid input reaches real objects (random ids only ever find nothing): the demo data's, and
# the ones `seed` makes (a reservation, a paid order with a made-to-order GIS line).
KNOWN_PATH = {
    "resource_id": str(demo.RESOURCE_SPORTS_HALL),
    "unit_id": str(demo.UNIT_IMPIVAARA_SPORTS_HALL),
    "provider": "local",
}
MADE_TO_ORDER = {
    "product_id": "detailed-plan",
    "format": "PDF",
    "licence_type": "internal use",
    "purpose_of_use": "checking the API against its declaration",
    "licence_accepted": True,
}
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]


@dataclass
class Finding:
    operation: str
    identity: str
    mode: str
    check: str
    status: int | None
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.operation} as {self.identity} ({self.mode}): {self.check} "
            f"[{self.status}] {self.detail}"
        )


@dataclass
class Run:
    findings: list[Finding] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)


def _first_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[:3])[:limit]


def _body_of(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.content


CREDENTIALS = ("authorization", "x-api-key")


def check_case(case: Any, identity: str, headers: dict[str, str], mode: str, run: Run) -> None:
    """Send `case` as `identity`, validate the reply, and repeat a keyed state change."""
    label = case.operation.label
    # The identity's credentials, not generated ones (a made-up API key is simply a 401).
    generated = {k: v for k, v in (case.headers or {}).items() if k.lower() not in CREDENTIALS}
    keyed = case.method.upper() in STATE_CHANGING and any(
        p.name == "Idempotency-Key" for p in case.operation.iter_parameters()
    )
    if keyed and mode == "positive":
        # A key of this call's own: generated ones repeat ("0", ""), which would replay
        # another call's reply instead of testing this one.
        generated["Idempotency-Key"] = f"st-{uuid.uuid4()}"
    case.headers = generated
    response = case.call(headers=headers)
    run.calls[label] += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        for failure in group.exceptions:
            run.findings.append(_finding(case, identity, mode, failure, response))
    except Failure as failure:
        run.findings.append(_finding(case, identity, mode, failure, response))
    if not (keyed and generated.get("Idempotency-Key")) or response.status_code in (429, 503):
        return
    again = case.call(headers=headers)
    run.calls[label] += 1
    for _ in range(3):  # not answered in time (a loaded machine): a client asks again
        if again.status_code != 503:
            break
        time.sleep(0.5)
        again = case.call(headers=headers)
        run.calls[label] += 1
    if (again.status_code, _body_of(again)) != (response.status_code, _body_of(response)):
        run.findings.append(
            Finding(
                label,
                identity,
                mode,
                "same_idempotency_key_same_answer",
                again.status_code,
                f"first {response.status_code} {_first_line(response.text)}; "
                f"repeat {again.status_code} {_first_line(again.text)}",
            )
        )


def _finding(case: Any, identity: str, mode: str, failure: Failure, response: Any) -> Finding:
    sent = f"path={case.path_parameters} query={case.query} body={case.body!r}"
    return Finding(
        case.operation.label,
        identity,
        mode,
        failure.title,
        response.status_code,
        f"{_first_line(failure.message)} | sent: {sent[:300]} "
        f"| reply: {_first_line(response.text, 200)}",
    )


def exercise(schema: Any, identities: dict[str, dict[str, str]]) -> Run:
    """Every operation x identity x mode, `EXAMPLES` derandomized cases each."""
    run = Run()
    for result in schema.get_all_operations():
        operation = result.ok()
        run.operations.add(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise_operation(operation, identities, mode, run)
    return run


def exercise_operation(
    operation: Any, identities: dict[str, dict[str, str]], mode: GenerationMode, run: Run
) -> None:
    """`EXAMPLES` cases of `operation` in `mode`, each sent as every identity."""
    names = re.findall(r"{(\w+)}", operation.path)
    known = {name: KNOWN_PATH[name] for name in names if name in KNOWN_PATH}
    strategy = (
        operation.as_strategy(generation_mode=mode, path_parameters=known)
        if known and mode == GenerationMode.POSITIVE
        else operation.as_strategy(generation_mode=mode)
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def cases(case: Any) -> None:
        for identity, headers in identities.items():
            check_case(case, identity, headers, mode.value, run)

    try:
        cases()
    except Exception as exc:  # a case that cannot be generated or sent is a finding too
        run.findings.append(
            Finding(operation.label, "-", mode.value, type(exc).__name__, None, str(exc)[:300])
        )


def identities_of(app: Any) -> dict[str, dict[str, str]]:
    issuer = app.state.dev_issuer
    found = {role: {"Authorization": f"Bearer {issuer.sign(user)}"} for role, user in USERS.items()}
    return found | {"api_key": {"X-API-Key": API_KEY}}


def _ok(response: Any) -> Any:
    assert response.status_code < 300, (response.request.url, response.text)
    return response.json()


def when(slot: dict[str, Any]) -> dict[str, Any]:
    return {"starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}


def seed(app: Any, identities: dict[str, dict[str, str]]) -> dict[str, str]:
    """Objects for the path parameters: the resident holds a slot and buys a made-to-order GIS
    product (paid, queued for the GIS clerk); a second held reservation goes unpaid."""
    resident = identities["resident"]
    with schemathesis_asgi.get_client(app) as client:
        day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
        hall = KNOWN_PATH["resource_id"]
        free = _ok(client.get(f"/api/v1/resources/{hall}/availability?first={day}&last={day}"))[
            "slots"
        ]
        held = [
            _ok(
                client.post(
                    "/api/v1/holds",
                    json={"items": [{"resource_id": hall, **when(slot)}]},
                    headers=resident,
                )
            )["reservations"][0]["reservation_id"]
            for slot in free[:2]
        ]
        _ok(
            client.post(
                "/api/v1/cart/reservations", json={"reservation_id": held[0]}, headers=resident
            )
        )
        _ok(client.post("/api/v1/cart/gis-products", json=MADE_TO_ORDER, headers=resident))
        order = _ok(client.post("/api/v1/cart/checkout", headers=resident))
        payment = _ok(
            client.post("/api/v1/payments", json={"order_id": order["order_id"]}, headers=resident)
        )
        paid = client.post(
            f"/pay/local/{payment['payment_id']}", data={"decision": "pay"}, headers=resident
        )
        assert paid.status_code == 200, paid.text
        gis = next(x for x in order["lines"] if x["line"]["kind"] == "gis_product")
    return {
        "reservation_id": held[1],
        "order_id": order["order_id"],
        "line_id": gis["line"]["line_id"],
        "payment_id": payment["payment_id"],
    }


def run_schemathesis(app: Any) -> Run:
    """In a worker thread: load the served document, make objects to reach, exercise every
    operation, stop the app's lifespan."""
    try:
        schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
        identities = identities_of(app)
        KNOWN_PATH.update(seed(app, identities))
        return exercise(schema, identities)
    finally:
        schemathesis_asgi.shutdown_lifespans()


def report(run: Run) -> Iterator[str]:
    by_kind = Counter((f.operation, f.check) for f in run.findings)
    for (operation, check), count in sorted(by_kind.items()):
        example = next(f for f in run.findings if (f.operation, f.check) == (operation, check))
        yield f"{count}x {example}"


@pytest.mark.timeout(max(600, EXAMPLES * 40))  # a larger budget gets its time
async def test_every_operation_answers_as_it_is_declared(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> None:
    common = CommonSettings(
        env="test",
        database_url=common_settings.database_url,
        nats_url=common_settings.nats_url,
        request_timeout_s=5.0,  # a call is never meant to time out here: not one on a busy machine
    )
    # /health asks every service with a limit of its own (1 s): on a busy machine it answered
    # 503 once, as designed for a service that is down; here every service is up
    settings = gateway_settings(api_keys=API_KEYS, max_body_bytes=65536, health_timeout_s=5.0)
    app = create_app(common, settings)
    async with hosted_audit(hosted, common_settings), real_services(hosted, tmp_path):
        started = time.monotonic()
        run = await asyncio.to_thread(run_schemathesis, app)
        took = time.monotonic() - started
    calls = sum(run.calls.values())
    print(  # the run's size, for the log
        f"schemathesis: {len(run.operations)} operations, {calls} calls, {took:.1f} s, "
        f"{len(run.findings)} findings"
    )
    assert len(run.operations) > 60, sorted(run.operations)
    assert run.calls.keys() == run.operations, run.operations - run.calls.keys()
    findings = list(report(run))
    assert not findings, "\n".join(findings)
