"""The log takes a burst of records in order, each once, and the chain check reads it back:
figures printed for the report (`-s`), correctness asserted."""

from __future__ import annotations

import time
import uuid

import msgspec
import pytest
from nats.js import JetStreamContext

from services.audit.domain.chain import verify
from services.audit.store import chain_rows
from shared.contracts.audit import AuditRecord, CartAuditRecorded
from tests.integration.audit.conftest import Audit

pytestmark = pytest.mark.timeout(120)
N = 500


async def test_a_burst_of_records_is_chained_once_each_in_order(
    audit: Audit, js: JetStreamContext
) -> None:
    batch = uuid.uuid4().hex
    events = [
        CartAuditRecorded(
            record=AuditRecord(
                service="cart",
                action="cart.v1.set_vat_rate",
                kind="change",
                outcome="ok",
                actor="admin-1",
                actor_kind="user",
                actor_roles=("admin",),
                object_type="rate",
                object_id=f"{batch}-{i}",
                request_id=batch,
                changes={"rate_bp": i},
            )
        )
        for i in range(N)
    ]
    started = time.perf_counter()
    for event in events:
        await js.publish(
            event.subject, msgspec.json.encode(event), headers={"Nats-Msg-Id": str(event.event_id)}
        )
    await js.publish(  # a redelivered record adds nothing
        events[0].subject,
        msgspec.json.encode(events[0]),
        headers={"Nats-Msg-Id": f"again-{events[0].event_id}"},
    )

    async def all_in() -> bool:
        count = await audit.pool.fetchval(
            "SELECT count(*) FROM entries WHERE request_id = $1", batch
        )
        return count >= N

    await audit.eventually(all_in, timeout=90)
    took = time.perf_counter() - started
    rows = await audit.entries(request_id=batch)
    assert len(rows) == N
    assert [r["changes"]["rate_bp"] for r in rows] == list(range(N))  # the stream's order
    started = time.perf_counter()
    check = verify([row async for row in chain_rows(audit.pool)])
    checked_in = time.perf_counter() - started
    assert check.ok
    print(
        f"audit_append_per_s: {N / took:.0f}\n"
        f"audit_verify_entries_per_s: {check.checked / checked_in:.0f}"
    )
