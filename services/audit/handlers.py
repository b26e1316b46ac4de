"""NATS operations `audit.v1.*`: the staff admin's search and chain check; residents'
data rights (their data from every service, erasure)."""

from __future__ import annotations

from typing import Any

from services.audit.rights import Rights
from services.audit.service import AuditTrail
from shared.contracts import audit as c
from shared.messaging import Operation
from shared.operations import ServiceContract

CONTRACT = ServiceContract(
    "audit",
    {
        "search": (c.AuditSearchRequest, c.AuditSearchReply),
        "verify": (c.VerifyRequest, c.VerifyReply),
        "my_data": (c.MyDataRequest, c.MyData),
        "erase": (c.EraseRequest, c.EraseReply),
    },
)


def operations(trail: AuditTrail, rights: Rights) -> list[Operation[Any]]:
    return CONTRACT.bind(
        {
            "search": trail.search,
            "verify": trail.verify,
            "my_data": rights.my_data,
            "erase": rights.erase,
        },
        reads=("verify",),  # a search writes its own entry
    )
