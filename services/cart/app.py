"""Composition root of the cart service: settings -> pool -> NATS -> handlers/consumers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from services.cart import library_recording, orders
from services.cart.consumers import booking_consumer, payment_consumer, refund_failure_consumer
from services.cart.deps import Deps
from services.cart.handlers import operations
from services.cart.library.base import LibrarySystem
from services.cart.library.development import DevelopmentLibrary
from services.cart.library.koha import SUPPORTED_VERSIONS, KohaLibrary
from services.cart.settings import CartSettings
from shared.filestore import LocalDirectoryStore, refuse_secrets_in_storage, secret_files
from shared.runtime import Infra, ServiceDefinition, every, run_until_signalled
from shared.settings import CommonSettings, SettingsError, from_env

NAME = "cart"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def load_settings() -> CartSettings:
    settings = from_env(CartSettings, prefix="CART_")
    if os.environ.get("DEMO_DATA", "").lower() == "true":
        settings = CartSettings(**{**_fields(settings), "demo_data": True})
    return settings


def gateway_url(environ: Mapping[str, str] | None = None) -> str:
    """The gateway's public address as the gateway itself works it out (PUBLIC_URL, else
    http://HOST:PORT): the launcher and the deployment give every process the same variables."""
    env = os.environ if environ is None else environ
    public = env.get("PUBLIC_URL", "").strip().rstrip("/")
    return public or f"http://{env.get('HOST') or '127.0.0.1'}:{env.get('PORT') or '8000'}"


def _fields(settings: CartSettings) -> dict[str, object]:
    return {f: getattr(settings, f) for f in settings.__struct_fields__}


def library_for(settings: CartSettings) -> LibrarySystem:
    if settings.library_adapter == "koha":
        if not settings.koha_version:
            raise SettingsError(
                "CART_KOHA_VERSION: set the library's Koha version "
                f"({', '.join(SUPPORTED_VERSIONS)})"
            )
        try:
            return KohaLibrary(
                settings.koha_base_url,
                settings.koha_client_id,
                settings.koha_client_secret,
                version=settings.koha_version,
                payment_type=settings.koha_payment_type,
                library_id=settings.koha_library_id,
                timeout_s=settings.koha_timeout_s,
            )
        except ValueError as exc:
            raise SettingsError(f"CART_KOHA_VERSION: {exc}") from None
    return DevelopmentLibrary()


def build(
    infra: Infra,
    settings: CartSettings | None = None,
    library: LibrarySystem | None = None,
) -> ServiceDefinition:
    settings = settings or load_settings()
    defaults = {
        "storage_dir": settings.storage_dir or str(Path(infra.settings.data_dir) / "gis"),
        "public_url": (settings.public_url or gateway_url()).rstrip("/"),
    }
    settings = CartSettings(**{**_fields(settings), **defaults})
    settings.check(infra.settings)
    refuse_secrets_in_storage(
        settings.storage_dir, infra.settings.data_dir, secret_files(infra.settings.data_dir)
    )
    files = LocalDirectoryStore(settings.storage_dir)
    deps = Deps(
        infra.pool, infra.requester, library or library_for(settings), settings, files=files
    )

    async def on_start() -> None:
        if settings.demo_data:
            from services.cart.demo import seed

            await seed(deps)

    async def sweeper(stop: asyncio.Event) -> None:
        await orders.sweeper(deps, stop)

    async def library_worker(stop: asyncio.Event) -> None:
        try:
            await library_recording.worker(deps, stop)
        finally:
            await deps.library.close()

    definition = ServiceDefinition(
        name=NAME,
        version=VERSION,
        operations=operations(deps),
        consumers=[payment_consumer(deps), booking_consumer(deps), refund_failure_consumer()],
        background=[
            sweeper,
            library_worker,
            every(
                settings.sweep_interval_s,
                lambda: orders.settle_sweep_once(deps),
                name="cart settle sweeper",
            ),
        ],
        on_start=on_start,
    )
    definition.deps = deps  # type: ignore[attr-defined]  # for tests and metrics
    return definition


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)
