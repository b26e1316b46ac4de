"""Every staff route of the gateway's route table leaves an audit entry.

The routes are enumerated from the gateway app itself (every handler whose `who` lets a staff
role, a clerk, finance or an admin in). Each is called once as the admin (a staff role on
every such route) with the smallest body the gateway accepts, through the real gateway and
the real booking, cart and payment services: a change (`POST`/`PUT`/`PATCH`/`DELETE`) must
leave an entry with its request id, whether the service made it or refused it; a read that
showed something must leave a `view`. A route the gateway itself refuses to pass on (400)
fails the test, naming it: the enumeration must reach every service operation."""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.routes import HTTPRoute
from nats.aio.client import Client as NATS

from services.gateway.routes.operation import PATH_PARAMETER, OperationRoute
from services.gateway.routes.who import Who
from shared.contracts.common import Principal, RequestContext
from shared.errors import ServiceError
from shared.messaging import Requester
from shared.settings import CommonSettings
from tests.integration.audit.conftest import Audit, hosted_audit, patient_client
from tests.integration.audit.sample import sample_of
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import real_services

pytestmark = pytest.mark.timeout(240)
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}
SERVICES = ("booking", "cart", "payment", "audit", "insights", "notify")


def is_staff(who: Who) -> bool:
    return not who.public and (any(r != "resident" for r in who.roles) or bool(who.scopes))


def staff_routes(client: GatewayClient) -> list[tuple[str, str, str, Any]]:
    """(method, path, subject, OperationRoute or the typed client) of every staff route."""
    found = []
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            who, subject = handler.opt.get("who"), handler.opt.get("subject")
            if subject is None or not isinstance(who, Who) or not is_staff(who):
                continue
            if subject.split(".")[0] not in SERVICES:
                continue  # the gateway tests' probe service
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                declared = declared_route(method, route.path, subject)
                found.append((method, route.path, subject, declared or handler.opt["call"]))
    return found


def declared_route(method: str, path: str, subject: str) -> OperationRoute[Any, Any] | None:
    from services.gateway.routes import audit, booking, cart, desk, insights, notify, payment

    for module in (booking, cart, payment, audit, desk, insights, notify):
        for r in module.ROUTES:
            template = PATH_PARAMETER.sub(r"{\1:str}", r.path)
            if r.method == method and r.subject == subject and path.endswith(template):
                return r
    return None


def request_of(route: OperationRoute[Any, Any], path: str) -> tuple[str, dict[str, Any], Any]:
    """(url, query, json body) of the smallest request the route takes."""
    values = sample_of(route.request)
    names = PATH_PARAMETER.findall(route.path)
    full = sample_of(route.request) | {n: values.get(n) or str(uuid.uuid4()) for n in names}
    for name in names:
        if name not in values:  # an optional path field: give it a value of its type
            full[name] = 1 if "int" in route.path else str(uuid.uuid4())
    url = re.sub(r"{(\w+):\w+}", lambda m: str(full[m.group(1)]), path)
    rest = {k: v for k, v in full.items() if k not in names and k != "idempotency_key"}
    if route.method in ("GET", "DELETE"):
        query = {k: v for k, v in rest.items() if isinstance(v, str | int | float | bool)}
        return url, query, None
    return url, {}, rest


async def test_every_staff_route_leaves_an_entry(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path, nc: NATS
) -> None:
    async with (
        hosted_audit(hosted, common_settings) as audit,
        real_services(hosted, tmp_path),
        patient_client(common_settings, tmp_path) as client,
    ):
        await check_every_route(client, audit, nc)


async def check_every_route(client: GatewayClient, audit: Audit, nc: NATS) -> None:
    admin = await bearer(client, "admin")
    routes = staff_routes(client)
    assert len(routes) > 30, "the enumeration found too few staff routes"
    expected: dict[str, tuple[str, str, str]] = {}  # request id -> (route, subject, method)
    problems: list[str] = []
    for method, path, subject, declared in routes:
        where = f"{method} {path}"
        if isinstance(declared, OperationRoute):
            url, query, body = request_of(declared, path)
            for _ in range(3):
                response = await client.request(
                    method,
                    url,
                    params=query,
                    json=body,
                    headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
                )
                if response.status_code != 503:
                    break
            if response.status_code == 400:
                problems.append(f"{where}: the gateway refused the sample: {response.text}")
                continue
            if method == "GET" and response.status_code != 200:
                continue  # a read that showed nothing is no view
            expected[response.headers["x-request-id"]] = (where, subject, method)
        else:  # a hand-written page: its operation, called as the page calls it
            request_id = uuid.uuid4().hex
            ctx = RequestContext(
                principal=Principal(subject="demo:admin", roles=("admin",)),
                request_id=request_id,
                client_address="127.0.0.1",
            )
            request = msgspec.convert(sample_of(declared.request), declared.request)
            try:
                await Requester(nc, 5.0).call(subject, request, declared.reply, ctx=ctx)
            except ServiceError:
                if method == "GET":
                    continue
            expected[request_id] = (where, subject, method)
    assert problems == []

    async def all_recorded() -> bool:
        rows = await audit.pool.fetch(
            "SELECT request_id, action, kind FROM entries WHERE request_id = ANY($1)",
            list(expected),
        )
        # each call's outcome (an attempt is written ahead of a change; its outcome follows),
        # by the operation the route called
        done = {(r["request_id"], r["action"]) for r in rows if r["kind"] != "attempt"}
        return all((rid, subject) in done for rid, (_, subject, _) in expected.items())

    with contextlib.suppress(TimeoutError):  # the assertions below name what is missing
        await audit.eventually(all_recorded, timeout=30)
    rows = await audit.pool.fetch(
        "SELECT request_id, action, kind FROM entries WHERE request_id = ANY($1)", list(expected)
    )
    # A request's entry by the operation it called: a service the operation asks in turn
    # with the same request id writes its own (cart's desk search asks booking's).
    recorded = {(r["request_id"], r["action"]): r for r in rows if r["kind"] != "attempt"}
    recorded_ids = {rid for rid, _ in recorded}
    attempts = {r["request_id"] for r in rows if r["kind"] == "attempt"}
    missing = [where for rid, (where, _, _) in expected.items() if rid not in recorded_ids]
    assert missing == [], f"staff routes that left no audit entry: {missing}"
    kinds = [r["kind"] for r in rows]
    print(  # for the log: how many routes, and what became of them
        f"staff routes: {len(routes)}, calls recorded: {len(expected)}, "
        + ", ".join(f"{k} {kinds.count(k)}" for k in sorted(set(kinds)))
    )
    for rid, (where, subject, method) in expected.items():
        entry = recorded.get((rid, subject))
        assert entry is not None, f"{where}: no entry for {subject}"
        if method in CHANGES:
            assert entry["kind"] in ("change", "refused"), where
            # (the audit service writes its own operations' entries in their transaction)
            if not subject.startswith("audit.v1."):
                assert rid in attempts, f"{where}: no attempt written ahead of the change"
        else:
            assert entry["kind"] == "view", where
