"""`python -m services.migrate [SERVICE ...]`: apply the schema migrations once, then exit.

The deployment's migration step (the Helm chart's Job, compose's `migrate` service) runs this
before the services start, with a role that may change the schemas; the services then run with
`MIGRATE_AT_START=false` and only check that nothing is pending. Every service with a
`services/<name>/migrations` folder owns the schema `<name>` and is migrated (a new service
needs no entry here); naming services migrates only those. Exit status 0 when done, 2 for an
unknown service or a missing DATABASE_URL, 1 when a migration fails.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import asyncpg

from shared.db import migrate
from shared.logging import configure_logging
from shared.settings import CommonSettings, from_env

log = logging.getLogger("migrate")

SERVICES_DIR = Path(__file__).parent


def migrated_services() -> dict[str, Path]:
    """Service name -> its migrations folder, for every service that has one."""
    return {
        folder.parent.name: folder
        for folder in sorted(SERVICES_DIR.glob("*/migrations"))
        if folder.is_dir() and any(folder.glob("*.sql"))
    }


async def migrate_all(database_url: str, names: list[str]) -> dict[str, list[str]]:
    """Migrate each named service's schema; returns the versions applied now per service."""
    folders = migrated_services()
    applied: dict[str, list[str]] = {}
    conn = await asyncpg.connect(database_url)
    try:
        for name in names:
            applied[name] = await migrate(conn, name, [folders[name]])
    finally:
        await conn.close()
    return applied


def main(argv: list[str] | None = None) -> int:
    common = from_env(CommonSettings)
    configure_logging(common.log_level, common.log_format, service="migrate")
    known = migrated_services()
    names = list(sys.argv[1:] if argv is None else argv) or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        log.error("no migrations for %s (known: %s)", ", ".join(unknown), ", ".join(known))
        return 2
    if not common.database_url:
        log.error("DATABASE_URL must be set")
        return 2
    try:
        applied = asyncio.run(migrate_all(common.database_url, names))
    except (OSError, asyncpg.PostgresError) as exc:
        log.error("migration failed: %s", type(exc).__name__)
        return 1
    for name, versions in applied.items():
        log.info("%s: %s", name, ", ".join(versions) if versions else "up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
