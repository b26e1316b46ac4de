"""The development SMS provider: nothing leaves the machine; each message is kept in
`dev_sms` (once per message) for the development page and the tests."""

from __future__ import annotations

import asyncpg

from services.notify.mailer import SendResult
from services.notify.sms.base import Sms


class RecordingSms:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def send(self, sms: Sms) -> SendResult:
        await self.pool.execute(
            """INSERT INTO dev_sms (message_id, phone, body) VALUES ($1, $2, $3)
               ON CONFLICT (message_id) DO NOTHING""",
            sms.message_id,
            sms.to,
            sms.body,
        )
        return SendResult("accepted", 200)

    async def close(self) -> None:
        return None


async def recorded(conn: asyncpg.Connection, limit: int = 100) -> list[asyncpg.Record]:
    """The newest recorded messages (for the development page)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT message_id, phone, body, created_at FROM dev_sms ORDER BY created_at DESC LIMIT $1",
        limit,
    )
    return rows
