"""The audit service's failure paths: bad input names the field and changes nothing; an
erasure or an export whose services do not answer is 503 and leaves the person's key (asking
again is safe); only the audit service may ask a service for a person's data."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from shared.contracts import audit as a
from shared.contracts.common import Principal, RequestContext
from shared.errors import Forbidden, Unauthenticated, Unavailable, ValidationFailed
from shared.messaging import Requester
from tests.integration.audit.conftest import Audit

pytestmark = pytest.mark.timeout(60)
ADMIN = Principal(subject="admin-dpo", roles=("admin",))
AINO = Principal(subject="resident-aino", roles=("resident",))


async def call(nc: NATS, op: str, req: Any, reply: type, who: Principal | None) -> Any:
    ctx = RequestContext(principal=who, request_id=uuid.uuid4().hex)
    return await Requester(nc, 3.0).call(f"audit.v1.{op}", req, reply, ctx=ctx)


async def test_bad_input_names_the_field_and_records_the_refusal(audit: Audit, nc: NATS) -> None:
    with pytest.raises(ValidationFailed) as bad:
        await Requester(nc, 3.0).call(
            "audit.v1.search",
            {"limit": 0},
            a.AuditSearchReply,
            ctx=RequestContext(principal=ADMIN, request_id="bad-1"),
        )
    assert bad.value.field == "limit"
    with pytest.raises(ValidationFailed) as unconfirmed:
        await call(nc, "erase", a.EraseRequest(), a.EraseReply, AINO)
    assert unconfirmed.value.field == "confirm"
    with pytest.raises(ValidationFailed) as system:
        await call(
            nc, "erase", a.EraseRequest(customer="system:cart", confirm=True), a.EraseReply, ADMIN
        )
    assert system.value.field == "customer"
    with pytest.raises(Unauthenticated):
        await call(nc, "verify", a.VerifyRequest(), a.VerifyReply, None)
    refused = await audit.entries(request_id="bad-1")
    assert [(e["kind"], e["outcome"], e["actor"]) for e in refused] == [
        ("refused", "validation_failed", "admin-dpo")
    ]


async def test_an_erasure_whose_services_do_not_answer_is_503_and_keeps_the_key(
    audit: Audit, nc: NATS
) -> None:
    async with audit.pool.acquire() as conn:
        before = await audit.trail.pseudonyms.of(conn, AINO.subject, create=True)
    with pytest.raises(Unavailable):
        await call(nc, "erase", a.EraseRequest(confirm=True), a.EraseReply, AINO)
    with pytest.raises(Unavailable):
        await call(nc, "my_data", a.MyDataRequest(), a.MyData, AINO)
    async with audit.pool.acquire() as conn:
        assert await audit.trail.pseudonyms.of(conn, AINO.subject, create=False) == before
    assert await audit.entries(action="audit.v1.erase", kind="erasure") == []


async def test_the_search_filters_by_time_and_pages(audit: Audit, nc: NATS) -> None:
    for _ in range(3):
        await call(nc, "verify", a.VerifyRequest(), a.VerifyReply, ADMIN)
    first = await call(
        nc, "search", a.AuditSearchRequest(actor="admin-dpo", limit=2), a.AuditSearchReply, ADMIN
    )
    assert len(first.entries) == 2
    assert first.next_before_seq == first.entries[-1].seq
    rest = await call(
        nc,
        "search",
        a.AuditSearchRequest(actor="admin-dpo", before_seq=first.next_before_seq),
        a.AuditSearchReply,
        ADMIN,
    )
    assert all(e.seq < first.entries[-1].seq for e in rest.entries)
    assert rest.entries  # the third check
    later = await call(
        nc,
        "search",
        a.AuditSearchRequest(since=first.entries[0].recorded_at.replace(year=2100)),
        a.AuditSearchReply,
        ADMIN,
    )
    assert later.entries == []


async def test_only_the_audit_service_asks_a_service_for_a_persons_data(
    hosted: Any, nc: NATS
) -> None:
    from services.payment.app import MIGRATIONS, builder
    from services.payment.settings import PaymentSettings

    async with hosted("payment", builder(PaymentSettings(sweep_interval_s=3600)), MIGRATIONS):
        for who in (ADMIN, AINO, Principal(subject="system:cart", kind="service")):
            with pytest.raises(Forbidden):
                await Requester(nc, 3.0).call(
                    "payment.v1.personal_data",
                    a.PersonalDataRequest(customer="resident-aino"),
                    a.PersonalData,
                    ctx=RequestContext(principal=who, request_id="x"),
                )
