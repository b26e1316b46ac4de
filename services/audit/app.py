"""Composition root of the audit service: the trail, its consumer, its operations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from services.audit.consumers import consumers
from services.audit.handlers import operations
from services.audit.rights import Rights
from services.audit.service import AuditTrail
from services.audit.settings import AuditSettings
from shared.errors import Unavailable
from shared.runtime import Infra, Loop, ServiceDefinition, every, run_until_signalled
from shared.settings import CommonSettings, from_env

NAME = "audit"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def builder(settings: AuditSettings) -> Callable[[Infra], ServiceDefinition]:
    def build(infra: Infra) -> ServiceDefinition:
        trail = AuditTrail(infra.pool)
        rights = Rights(trail, infra.requester)

        async def retention() -> None:
            await rights.apply_retention(settings.retention_personal_days, settings.retention_batch)

        background: list[Loop] = []
        if settings.retention_interval_s > 0:
            background.append(
                every(
                    settings.retention_interval_s,
                    retention,
                    name="personal data retention",
                    transient=(Unavailable,),
                )
            )
        definition = ServiceDefinition(
            name=NAME,
            version=VERSION,
            operations=operations(trail, rights),
            consumers=consumers(trail, history=settings.follow_history),
            background=background,
            after_operation=trail.after_operation,
        )
        definition.rights = rights  # type: ignore[attr-defined]
        definition.trail = trail  # type: ignore[attr-defined]  # for tests and tools
        return definition

    return build


def build(infra: Infra) -> ServiceDefinition:
    return builder(from_env(AuditSettings, prefix="AUDIT_"))(infra)


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)
