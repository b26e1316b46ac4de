"""The web pages' operation table names the reply type each service really sends, and `fetch`
refuses a reply type the table does not declare (so a page cannot decode into the wrong struct)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from services.audit.handlers import CONTRACT as AUDIT
from services.booking.handlers import CONTRACT as BOOKING
from services.cart.handlers import CONTRACT as CART
from services.gateway.web import ops
from services.insights.handlers import CONTRACT as INSIGHTS
from services.notify.handlers import CONTRACT as NOTIFY
from services.notify.webhook_handlers import WEBHOOK_CONTRACT as WEBHOOKS
from services.payment.handlers import CONTRACT as PAYMENT
from shared.contracts import booking, cart

CONTRACTS = {
    **BOOKING.by_subject(),
    **CART.by_subject(),
    **PAYMENT.by_subject(),
    **INSIGHTS.by_subject(),
    **AUDIT.by_subject(),
    **NOTIFY.by_subject(),
    **WEBHOOKS.by_subject(),
}


@pytest.mark.parametrize("name", sorted(ops.OPS))
def test_each_operation_replies_what_its_service_declares(name: str) -> None:
    op = ops.OPS[name]
    assert op.subject in CONTRACTS, f"{name}: no service declares {op.subject}"
    assert op.reply is CONTRACTS[op.subject][1], (
        f"{name}: the web table says {op.reply.__name__}, "
        f"{op.subject} replies {CONTRACTS[op.subject][1].__name__}"
    )


async def test_fetch_refuses_a_reply_type_the_table_does_not_declare() -> None:
    # The check comes before anything is sent, so no request or services are needed.
    with pytest.raises(TypeError, match="get_cart replies CartView, not OrderView"):
        await ops.fetch(cast(Any, None), "get_cart", cart.OrderView)
    with pytest.raises(KeyError):
        await ops.fetch(cast(Any, None), "no_such_operation", booking.SearchReply)
