import asyncpg


async def test_servers_answer(database_url: str, nc) -> None:
    conn = await asyncpg.connect(database_url)
    assert await conn.fetchval("SELECT 1") == 1
    await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    await conn.close()
    assert nc.is_connected
