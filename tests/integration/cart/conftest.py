"""The cart service hosted in-process (production wiring) against the Koha stand-in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import msgspec
import pytest

from services.cart.app import MIGRATIONS, build, library_for
from services.cart.settings import CartSettings
from services.cart.wiring import CartServices
from shared.contracts.common import Principal, RequestContext
from shared.db import create_pool
from shared.events import Event
from shared.filestore import FileStore, StoredFile, chunks_of
from shared.messaging import Requester
from shared.runtime import RunningService
from tests.conftest import clean_schema
from tests.standins.koha import KohaStandIn, KohaState

R = TypeVar("R")
PATRON = 51
CARD = "2600123456"
PIN = "1234"


@pytest.fixture
def koha(request: Any) -> Iterator[KohaStandIn]:
    """The Koha stand-in (23.11; parametrise `koha` indirectly with another version)."""
    state = KohaState(version=getattr(request, "param", "23.11"))
    state.cards[CARD] = (PIN, PATRON)
    state.add_debit(PATRON, 9001, "OVERDUE", "2.40", "Myöhästymismaksu")
    state.add_debit(PATRON, 9002, "RESERVE", "1.00", "Varausmaksu")
    state.add_debit(PATRON, 9003, "LOST_DISPUTED", "18.00", "Kadonnut (kiistetty)")
    with KohaStandIn(state) as server:
        yield server


def cart_settings(tmp_path: Path, koha: KohaStandIn, **overrides: Any) -> CartSettings:
    values: dict[str, Any] = {
        "library_adapter": "koha",
        "koha_base_url": koha.url,
        "koha_client_id": "cart-client",
        "koha_client_secret": "cart-secret",
        "koha_version": koha.state.version,
        "koha_library_id": "MAIN",
        "koha_timeout_s": 2.0,
        "demo_data": True,
        "library_retry_delays_s": "0.1,0.1",
        "library_poll_interval_s": 0.1,
        "sweep_interval_s": 0.2,
        "download_limit": 2,
        "public_url": "http://testserver",  # the gateway test client's address
    }
    values.update(overrides)
    return CartSettings(**values)


@dataclass
class Cart:
    """The running cart service plus what a test needs to talk to it."""

    service: RunningService
    requester: Requester
    pool: asyncpg.Pool
    koha: KohaStandIn
    settings: CartSettings

    async def call(
        self,
        op: str,
        request: Any,
        reply: type[R],
        who: Principal | None,
        *,
        address: str | None = None,
    ) -> R:
        ctx = RequestContext(principal=who, client_address=address)
        return await self.requester.call(f"cart.v1.{op}", request, reply, ctx=ctx)

    async def publish(self, event: Event) -> None:
        js = self.service.infra.js
        await js.publish(
            event.subject, msgspec.json.encode(event), headers={"Nats-Msg-Id": str(event.event_id)}
        )

    @property
    def services(self) -> CartServices:
        """The running cart's own parts (its use cases, sweepers, counters)."""
        return self.service.definition.cart  # type: ignore[attr-defined,no-any-return]

    @property
    def files(self) -> FileStore:
        """The GIS file store (the NATS Object Store bucket) the cart checks uploads in."""
        return self.services.delivery.files

    async def in_store(self, content: bytes) -> StoredFile:
        """`content` streamed into the file store, as the gateway does with an upload."""
        return await self.files.put(chunks_of(content, 50_000))

    async def outbox(self, subject: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT payload FROM outbox WHERE subject = $1 ORDER BY id", subject
        )
        return [msgspec.json.decode(bytes(r["payload"])) for r in rows]


@pytest.fixture
async def cart(
    hosted: Any, database_url: str, nc: Any, koha: KohaStandIn, tmp_path: Path, request: Any
) -> AsyncIterator[Cart]:
    overrides = getattr(request, "param", {})
    settings = cart_settings(tmp_path, koha, **overrides)
    library = library_for(settings)

    def build_cart(infra: Any) -> Any:
        return build(infra, settings, library)

    async with hosted("cart", build_cart, MIGRATIONS) as service:
        pool = await create_pool(database_url, "cart", min_size=1, max_size=4)
        try:
            yield Cart(service, Requester(nc, 5.0), pool, koha, settings)
        finally:
            await clean_schema(pool, "cart")
            await pool.close()


def resident(name: str | None = None) -> Principal:
    return Principal(
        subject=name or f"resident-{uuid.uuid4().hex[:8]}",
        roles=("resident",),
        loa="substantial",
        home_municipality="853",
    )


def staff(*roles: str, departments: tuple[str, ...] = ()) -> Principal:
    return Principal(subject=f"staff-{uuid.uuid4().hex[:6]}", roles=roles, departments=departments)  # type: ignore[arg-type]


SERVICE = Principal(subject="system:payment", roles=("system",), kind="service")
