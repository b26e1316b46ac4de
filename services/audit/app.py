"""Composition root of the audit service: the trail, its consumer, its operations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from services.audit.consumers import consumers
from services.audit.handlers import operations
from services.audit.service import AuditTrail
from services.audit.settings import AuditSettings
from shared.runtime import Infra, ServiceDefinition, run_until_signalled
from shared.settings import CommonSettings, from_env

NAME = "audit"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def builder(settings: AuditSettings) -> Callable[[Infra], ServiceDefinition]:
    def build(infra: Infra) -> ServiceDefinition:
        trail = AuditTrail(infra.pool)
        definition = ServiceDefinition(
            name=NAME,
            version=VERSION,
            operations=operations(trail),
            consumers=consumers(trail),
        )
        definition.trail = trail  # type: ignore[attr-defined]  # for tests and tools
        return definition

    return build


def build(infra: Infra) -> ServiceDefinition:
    return builder(from_env(AuditSettings, prefix="AUDIT_"))(infra)


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)
