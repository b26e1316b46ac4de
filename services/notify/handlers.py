"""NATS operations `notify.v1.*`: the table of what each takes and replies, bound to the use
cases at start-up (shared/operations.py)."""

from __future__ import annotations

from typing import Any

from services.notify import personal_data
from services.notify.service import Notifications
from shared.contracts import audit as a
from shared.contracts import notify as c
from shared.messaging import Operation
from shared.operations import ServiceContract

CONTRACT = ServiceContract(
    "notify",
    {
        "set_contact": (c.SetContactRequest, c.ContactView),
        "get_contact": (c.GetContactRequest, c.ContactView),
        "seed_contact": (c.SeedContactRequest, c.ContactView),
        "customer_messages": (c.CustomerMessagesRequest, c.MessageList),
        "set_department": (c.DepartmentSender, c.DepartmentSender),
        # residents' data rights (GDPR): internal, the audit service's only
        "personal_data": (a.PersonalDataRequest, a.PersonalData),
        "erase_personal_data": (a.ErasePersonalDataRequest, a.ErasedCounts),
        "stale_customers": (a.StalePersonalDataRequest, a.StaleCustomers),
    },
)

READS = frozenset({"get_contact", "customer_messages", "personal_data", "stale_customers"})


def operations(notifications: Notifications) -> list[Operation[Any]]:
    personal = personal_data.operations(notifications.pool)
    return CONTRACT.bind(
        {
            "set_contact": notifications.set_contact,
            "get_contact": notifications.get_contact,
            "seed_contact": notifications.seed_contact,
            "customer_messages": notifications.customer_messages,
            "set_department": notifications.set_department,
            "personal_data": personal.personal_data,
            "erase_personal_data": personal.erase_personal_data,
            "stale_customers": personal.stale_customers,
        },
        reads=READS,
    )
