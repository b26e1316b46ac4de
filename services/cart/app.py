"""Composition root of the cart service: settings -> pool -> NATS -> handlers/consumers."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import msgspec

from services.cart import demo, metrics
from services.cart.consumers import consumers
from services.cart.handlers import VIEWS, operations
from services.cart.library.base import LibrarySystem
from services.cart.library.development import DevelopmentLibrary
from services.cart.library.koha import SUPPORTED_VERSIONS, KohaLibrary
from services.cart.settings import CartSettings
from services.cart.wiring import CartServices, wire
from shared.filestore import ObjectStoreFiles, open_file_store
from shared.runtime import Infra, Loop, ServiceDefinition, every, run_until_signalled
from shared.settings import CommonSettings, SettingsError, from_env, gateway_url

NAME = "cart"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def load_settings() -> CartSettings:
    settings = from_env(CartSettings, prefix="CART_")
    if os.environ.get("DEMO_DATA", "").lower() == "true":
        settings = msgspec.structs.replace(settings, demo_data=True)
    return settings


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
    settings = msgspec.structs.replace(
        settings,
        public_url=(settings.public_url or gateway_url()).rstrip("/"),
    )
    settings.check(infra.settings)
    common = infra.settings
    files = ObjectStoreFiles(
        infra.nc,
        common.gis_files_bucket,
        chunk_bytes=common.gis_files_chunk_bytes,
        timeout_s=common.request_timeout_s,
    )
    cart = wire(infra.pool, infra.requester, library or library_for(settings), settings, files)

    async def on_start() -> None:
        await open_file_store(  # the GIS files' bucket, made when missing
            infra.nc, common.gis_files_bucket, replicas=common.gis_files_replicas
        )
        if settings.demo_data:
            await demo.seed(infra.pool, files)

    definition = ServiceDefinition(
        name=NAME,
        version=VERSION,
        operations=operations(cart),
        consumers=consumers(cart),
        background=background(cart, settings),
        on_start=on_start,
        metrics=metrics.collectors(infra.pool),
        repairs=cart.counters,
        views=VIEWS,
    )
    definition.cart = cart  # type: ignore[attr-defined]  # for tests and metrics
    return definition


def background(cart: CartServices, settings: CartSettings) -> list[Loop]:
    """The cart's loops: the payment-window and settle sweepers, the library worker."""

    async def library_round() -> None:
        await cart.recording.record_due()
        await cart.pins.purge()  # forget old PIN attempts

    recording = every(settings.library_poll_interval_s, library_round, name="cart library worker")

    async def library_worker(stop: asyncio.Event) -> None:
        try:
            await recording(stop)
        finally:
            await cart.library_system.close()

    return [
        every(
            settings.sweep_interval_s,
            cart.sweepers.cancel_all_overdue,
            name="cart payment-window sweeper",
        ),
        library_worker,
        every(settings.sweep_interval_s, cart.sweepers.settle_stuck, name="cart settle sweeper"),
    ]


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)
