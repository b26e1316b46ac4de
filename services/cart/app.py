"""Composition root of the cart service: settings -> pool -> NATS -> handlers/consumers."""

from __future__ import annotations

from pathlib import Path

from shared.runtime import Infra, ServiceDefinition, run_until_signalled
from shared.settings import CommonSettings, from_env

NAME = "cart"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(infra: Infra) -> ServiceDefinition:
    return ServiceDefinition(name=NAME, version=VERSION, operations=[])


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)
