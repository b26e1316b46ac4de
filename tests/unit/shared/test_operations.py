"""A service's operation table is what its handlers really take and send: binding a handler
whose annotations disagree, or leaving an operation without one, fails at start-up."""

from __future__ import annotations

import typing
from pathlib import Path

import msgspec
import pytest
from nats.aio.client import Client as NATS

from services.booking.handlers import CONTRACT as BOOKING
from services.cart import handlers as cart_handlers
from services.cart.gis.delivery import GisDelivery
from services.cart.library.development import DevelopmentLibrary
from services.cart.settings import CartSettings
from services.cart.wiring import wire
from services.payment.handlers import CONTRACT as PAYMENT
from shared.contracts.cart import GisUploadRequest, OrderLineView, OrderView
from shared.contracts.common import RequestContext
from shared.filestore import ObjectStoreFiles
from shared.operations import ContractError, ServiceContract, check_handler


class Ping(msgspec.Struct, frozen=True):
    text: str


class Pong(msgspec.Struct, frozen=True):
    text: str


async def pong(req: Ping, ctx: RequestContext) -> Pong:
    return Pong(req.text)


async def wrong_reply(req: Ping, ctx: RequestContext) -> Ping:
    return req


async def wrong_request(req: Pong, ctx: RequestContext) -> Pong:
    return req


CONTRACT = ServiceContract("demo", {"ping": (Ping, Pong)})


def test_bound_operations_carry_the_declared_request_and_reads() -> None:
    (op,) = CONTRACT.bind({"ping": pong}, reads={"ping"})
    assert (op.name, op.request, op.handler, op.read_only) == ("ping", Ping, pong, True)
    assert CONTRACT.by_subject() == {"demo.v1.ping": (Ping, Pong)}


@pytest.mark.parametrize(
    ("handler", "complaint"),
    [
        (wrong_reply, "demo.v1.ping replies Pong, but its handler wrong_reply returns Ping"),
        (wrong_request, "demo.v1.ping takes Ping, but its handler wrong_request takes Pong"),
    ],
)
def test_a_handler_disagreeing_with_the_table_fails_at_start(
    handler: typing.Any, complaint: str
) -> None:
    with pytest.raises(ContractError) as raised:
        CONTRACT.bind({"ping": handler})
    assert complaint in str(raised.value)


def test_an_operation_without_a_handler_or_a_handler_without_an_operation_fails() -> None:
    with pytest.raises(ContractError, match=r"without a handler \['ping'\]"):
        CONTRACT.bind({})
    with pytest.raises(ContractError, match=r"without an operation \['pong'\]"):
        CONTRACT.bind({"ping": pong, "pong": pong})
    with pytest.raises(ContractError, match=r"unknown reads \['pnig'\]"):
        CONTRACT.bind({"ping": pong}, reads={"pnig"})


def test_the_old_gis_upload_mix_up_is_refused() -> None:
    """Had cart's table said OrderView, the GIS upload's use case (OrderLineView) is refused."""
    upload = GisDelivery.upload
    check_handler("cart.v1.gis_upload", upload, GisUploadRequest, OrderLineView)
    with pytest.raises(ContractError, match=r"replies OrderView, but its handler .*upload returns"):
        check_handler("cart.v1.gis_upload", upload, GisUploadRequest, OrderView)


def test_every_cart_use_case_agrees_with_the_cart_table(tmp_path: Path) -> None:
    """Cart binds the methods of its wired use cases: each one's own types are checked
    (nothing is connected: the pool and requester are never used while binding)."""
    services = wire(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        DevelopmentLibrary(),
        CartSettings(),
        ObjectStoreFiles(NATS(), "gis-files"),  # not connected: never used while binding
    )
    bound = cart_handlers.operations(services)
    assert sorted(o.name for o in bound) == sorted(cart_handlers.CONTRACT.operations)


def test_the_tables_only_hold_message_structs() -> None:
    for contract in (BOOKING, cart_handlers.CONTRACT, PAYMENT):
        for name, types in contract.operations.items():
            for type_ in types:
                assert issubclass(type_, msgspec.Struct), (contract.service, name, type_)
