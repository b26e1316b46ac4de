"""The order sweepers (run by `shared.runtime.every`): unpaid orders past their payment window
are cancelled; paid orders whose lines are all final but that were left unsettled are settled
(the safety net: every path finishing a line settles its order itself, under the order lock)."""

from __future__ import annotations

import logging
from collections import Counter

import asyncpg

from services.cart.orders import settling, store
from services.cart.orders.fulfilment import Fulfilment

log = logging.getLogger(__name__)

SETTLED_BY_SWEEPER = "orders_settled_by_sweeper"


class Sweepers:
    def __init__(self, pool: asyncpg.Pool, fulfilment: Fulfilment, counters: Counter[str]) -> None:
        self.pool = pool
        self.fulfilment = fulfilment
        # What the sweepers repaired, by name: read by metrics; a number that grows means a
        # path that should settle things does not.
        self.counters = counters

    async def cancel_overdue(self, batch: int = 50) -> int:
        """Cancel unpaid orders past their payment window (replicas take disjoint rows)."""
        async with self.pool.acquire() as conn, conn.transaction():
            overdue = await store.overdue_orders(conn, batch)
            for order in overdue:
                await self.fulfilment.cancel(conn, order, "payment_window_expired")
        return len(overdue)

    async def cancel_all_overdue(self) -> int:
        """Cancel every unpaid order past its payment window, a batch at a time."""
        cancelled = 0
        while swept := await self.cancel_overdue():
            cancelled += swept
        return cancelled

    async def settle_stuck(self, batch: int = 50) -> int:
        """Settle orders whose lines are all final but the order is not."""
        settled = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for order in await store.unsettled_orders(conn, batch):
                if await settling.settle_stuck(conn, order):
                    settled += 1
                    log.warning(
                        "order %s (%s): every line was final but the order was not settled; "
                        "settled by the sweeper",
                        order.id,
                        order.state,
                    )
        self.counters[SETTLED_BY_SWEEPER] += settled
        return settled
