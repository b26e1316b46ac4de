"""Composition root of the insights service: settings -> pool -> NATS -> handlers/consumers."""

from __future__ import annotations

from pathlib import Path

from services.insights.consumers import consumers
from services.insights.handlers import operations
from services.insights.service import Insights
from services.insights.settings import InsightsSettings
from shared.runtime import Infra, ServiceDefinition, run_until_signalled
from shared.settings import CommonSettings, from_env

NAME = "insights"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(infra: Infra, settings: InsightsSettings | None = None) -> ServiceDefinition:
    settings = settings or from_env(InsightsSettings, prefix="INSIGHTS_")
    return ServiceDefinition(
        name=NAME,
        version=VERSION,
        operations=operations(Insights(infra.pool, settings)),
        consumers=consumers(),
    )


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)
