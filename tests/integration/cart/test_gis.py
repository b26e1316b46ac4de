"""GIS delivery: ready files become signed links at once; made-to-order waits for an upload."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.cart.domain import entitlements
from shared.contracts.cart import (
    AreaTierSpec,
    DownloadGrant,
    DownloadRequest,
    GisPricing,
    GisProduct,
    GisProductList,
    GisQueue,
    GisQueueRequest,
    GisUploadRequest,
    ListGisProductsRequest,
    ListRegistrationsRequest,
    OrderLineView,
    RefundRequestView,
    RegistrationList,
    RequestRefundRequest,
    UpsertGisProductRequest,
)
from shared.errors import Conflict, Forbidden, Gone, ValidationFailed
from tests.integration.cart.conftest import Cart, resident, staff
from tests.integration.cart.flows import checkout, fill, order_in, refunded, succeeded


async def test_ready_file_downloads_until_the_limit(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    done = await order_in(cart, me, order.order_id, "fulfilled")
    (link,) = done.downloads
    grant = await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    assert grant.file_name == "opaskartta.pdf"
    assert grant.content_type == "application/pdf"
    assert open(grant.file_path, "rb").read().startswith(b"%PDF")  # noqa: SIM115
    assert grant.downloads_left == 1
    await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    with pytest.raises(Gone, match="used up"):
        await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)


async def test_forged_and_expired_links_are_refused(cart: Cart) -> None:
    forged = entitlements.sign("not-our-secret", uuid.uuid4(), datetime.now(UTC) + timedelta(1))
    with pytest.raises(Forbidden):
        await cart.call("download", DownloadRequest(token=forged), DownloadGrant, None)
    with pytest.raises(Forbidden):
        await cart.call("download", DownloadRequest(token="garbage"), DownloadGrant, None)
    expired = entitlements.sign(
        cart.settings.download_secret, uuid.uuid4(), datetime.now(UTC) - timedelta(seconds=1)
    )
    with pytest.raises(Gone, match="expired"):
        await cart.call("download", DownloadRequest(token=expired), DownloadGrant, None)


async def test_made_to_order_waits_in_the_queue_until_a_clerk_uploads(cart: Cart) -> None:
    me = resident()
    clerk = staff("gis_clerk", departments=("gis",))
    await fill(cart, me, library=False, made_to_order=True)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    paid = await order_in(cart, me, order.order_id, "paid")
    assert sorted(x.state for x in paid.lines) == ["fulfilled", "queued"]
    queue = await cart.call("gis_queue", GisQueueRequest(), GisQueue, clerk)
    (item,) = [i for i in queue.items if i.order_id == order.order_id]
    assert item.details["purpose_of_use"].startswith("a school project")
    with pytest.raises(Forbidden):
        await cart.call("gis_queue", GisQueueRequest(), GisQueue, me)
    upload = GisUploadRequest(
        line_id=item.line_id,
        file_name="asemakaava_853.dwg",
        content_b64=base64.b64encode(b"AC1032 plan").decode(),
    )
    line = await cart.call("gis_upload", upload, OrderLineView, clerk)
    assert line.state == "fulfilled"
    with pytest.raises(Conflict):
        await cart.call("gis_upload", upload, OrderLineView, clerk)
    done = await order_in(cart, me, order.order_id, "fulfilled")
    names = sorted(d.file_name for d in done.downloads)
    assert names == ["asemakaava_853.dwg", "opaskartta.pdf"]
    link = next(d for d in done.downloads if d.file_name.endswith(".dwg"))
    grant = await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    assert grant.size_bytes == len(b"AC1032 plan")


async def test_gis_clerk_manages_the_catalogue(cart: Cart) -> None:
    clerk = staff("gis_clerk", departments=("gis",))
    products = await cart.call("list_gis_products", ListGisProductsRequest(), GisProductList, None)
    assert {p.id for p in products.products} >= {"basemap-500", "orthophoto", "point-cloud"}
    product = next(p for p in products.products if p.id == "address-data")
    hidden = GisProduct(**{**_fields(product), "active": False})
    with pytest.raises(Forbidden):
        await cart.call(
            "upsert_gis_product", UpsertGisProductRequest(product=hidden), GisProduct, resident()
        )
    await cart.call(
        "upsert_gis_product", UpsertGisProductRequest(product=hidden), GisProduct, clerk
    )
    products = await cart.call("list_gis_products", ListGisProductsRequest(), GisProductList, None)
    assert "address-data" not in {p.id for p in products.products}


def _fields(value: object) -> dict[str, object]:
    return {f: getattr(value, f) for f in value.__struct_fields__}  # type: ignore[attr-defined]


async def test_area_pricing_must_price_every_hectare(cart: Cart) -> None:
    clerk = staff("gis_clerk", departments=("gis",))
    products = await cart.call("list_gis_products", ListGisProductsRequest(), GisProductList, None)
    orthophoto = next(p for p in products.products if p.id == "orthophoto")
    for tiers in (
        [AreaTierSpec(up_to_hectares=10, cents_per_hectare=800)],  # above 10 ha: free
        [
            AreaTierSpec(up_to_hectares=10, cents_per_hectare=800),
            AreaTierSpec(up_to_hectares=5, cents_per_hectare=400),
            AreaTierSpec(cents_per_hectare=150),
        ],
    ):
        pricing = GisPricing(**{**_fields(orthophoto.pricing), "tiers": tiers})
        changed = GisProduct(**{**_fields(orthophoto), "pricing": pricing})
        with pytest.raises(ValidationFailed) as refused:
            await cart.call(
                "upsert_gis_product", UpsertGisProductRequest(product=changed), GisProduct, clerk
            )
        assert refused.value.details["field"] == "product.pricing.tiers"


async def test_a_refunded_purchase_can_no_longer_be_downloaded(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    done = await order_in(cart, me, order.order_id, "fulfilled")
    (link,) = done.downloads
    refund = RequestRefundRequest(order_id=order.order_id, line_id=link.line_id)
    asked = await cart.call(
        "request_refund", refund, RefundRequestView, staff("gis_clerk", departments=("gis",))
    )
    with pytest.raises(Gone, match="refunded") as refused:
        await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    assert refused.value.details["reason"] == "refunded"
    await cart.publish(refunded(order, asked))
    after = await order_in(cart, me, order.order_id, "refunded")
    assert after.downloads == []
    with pytest.raises(Gone, match="refunded"):
        await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)


async def test_a_partly_refunded_purchase_still_downloads(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    (link,) = (await order_in(cart, me, order.order_id, "fulfilled")).downloads
    refund = RequestRefundRequest(order_id=order.order_id, line_id=link.line_id, amount_cents=200)
    await cart.call(
        "request_refund", refund, RefundRequestView, staff("gis_clerk", departments=("gis",))
    )
    grant = await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    assert grant.file_name == "opaskartta.pdf"


async def test_catalogue_queue_and_registrations_are_paged_and_bounded(cart: Cart) -> None:
    clerk = staff("gis_clerk", "library_clerk", departments=("gis", "library"))
    page = await cart.call(
        "list_gis_products", ListGisProductsRequest(limit=2), GisProductList, None
    )
    assert len(page.products) == 2
    assert page.next_offset == 2
    ids = [p.id for p in page.products]
    while page.next_offset is not None:
        page = await cart.call(
            "list_gis_products",
            ListGisProductsRequest(limit=2, offset=page.next_offset),
            GisProductList,
            None,
        )
        ids += [p.id for p in page.products]
    assert ids == sorted(ids)
    assert len(ids) == 6
    for op, request, reply in (
        ("list_gis_products", ListGisProductsRequest(offset=-1), GisProductList),
        ("gis_queue", GisQueueRequest(offset=-5), GisQueue),
        ("library_registrations", ListRegistrationsRequest(offset=-1), RegistrationList),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await cart.call(op, request, reply, clerk)
        assert refused.value.details["field"] == "offset"
    queue = await cart.call("gis_queue", GisQueueRequest(limit=1), GisQueue, clerk)
    assert queue.next_offset is None
