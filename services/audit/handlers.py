"""NATS operations `audit.v1.*`: the staff admin's search and chain check."""

from __future__ import annotations

from typing import Any

from services.audit.service import AuditTrail
from shared.contracts import audit as c
from shared.messaging import Operation
from shared.operations import ServiceContract

CONTRACT = ServiceContract(
    "audit",
    {
        "search": (c.AuditSearchRequest, c.AuditSearchReply),
        "verify": (c.VerifyRequest, c.VerifyReply),
    },
)


def operations(trail: AuditTrail) -> list[Operation[Any]]:
    return CONTRACT.bind(
        {"search": trail.search, "verify": trail.verify},
        reads=(),  # a search writes its own entry; the check reads only but may be long
    )
