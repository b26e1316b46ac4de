"""GIS delivery: ready files become signed links at once; made-to-order waits for an upload."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from services.cart.demo import DEMO_FILES
from services.cart.domain import entitlements
from shared.contracts.cart import (
    AreaTierSpec,
    CartView,
    DownloadGrant,
    DownloadRequest,
    GisFile,
    GisFileUploadRequest,
    GisPricing,
    GisProduct,
    GisProductList,
    GisProductRecord,
    GisProductRecordList,
    GisProductRecordsRequest,
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
from shared.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed
from shared.filestore import read_all
from tests.integration.cart.conftest import Cart, resident, staff
from tests.integration.cart.flows import checkout, fill, gis, order_in, refunded, succeeded


async def test_ready_file_downloads_until_the_limit(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    done = await order_in(cart, me, order.order_id, "fulfilled")
    (link,) = done.downloads
    assert link.url == f"http://testserver/api/v1/downloads/{link.token}"  # absolute
    grant = await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    assert grant.file_name == "opaskartta.pdf"
    assert grant.content_type == "application/pdf"
    content = await read_all(cart.files, grant.file_id)
    assert content == DEMO_FILES["guide-map"][1]
    assert grant.size_bytes == len(content)
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
    stored = await cart.in_store(b"AC1032 plan")
    upload = GisUploadRequest(
        line_id=item.line_id,
        file_name="asemakaava_853.dwg",
        file_id=stored.file_id,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
    )
    line = await cart.call("gis_upload", upload, OrderLineView, clerk)
    assert line.state == "fulfilled"
    with pytest.raises(Conflict):
        await cart.call("gis_upload", upload, OrderLineView, clerk)
    assert await cart.files.exists(stored.file_id)  # a refusal never drops a delivered file
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
    records = await cart.call(
        "gis_product_records", GisProductRecordsRequest(), GisProductRecordList, clerk
    )
    record = next(p for p in records.products if p.id == "address-data")
    assert record.file is not None
    assert record.file.file_name == "osoitteet.gpkg"
    hidden = GisProduct(**{k: v for k, v in _fields(record).items() if k != "file"})
    hidden = msgspec.structs.replace(hidden, active=False)
    with pytest.raises(Forbidden):
        await cart.call(
            "upsert_gis_product",
            UpsertGisProductRequest(product=hidden),
            GisProductRecord,
            resident(),
        )
    await cart.call(
        "upsert_gis_product", UpsertGisProductRequest(product=hidden), GisProductRecord, clerk
    )
    products = await cart.call("list_gis_products", ListGisProductsRequest(), GisProductList, None)
    assert "address-data" not in {p.id for p in products.products}
    with pytest.raises(Forbidden):
        await cart.call(
            "gis_product_records", GisProductRecordsRequest(), GisProductRecordList, resident()
        )


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
                "upsert_gis_product",
                UpsertGisProductRequest(product=changed),
                GisProductRecord,
                clerk,
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


GIS_CLERK = staff("gis_clerk", departments=("gis",))
ATTACKS = ("/etc/hostname", "../dev-issuer-key.pem", "demo/../../../../etc/hostname")


async def _record(cart: Cart, product_id: str) -> GisProductRecord:
    records = await cart.call(
        "gis_product_records", GisProductRecordsRequest(), GisProductRecordList, GIS_CLERK
    )
    return next(p for p in records.products if p.id == product_id)


def _product(record: GisProductRecord, **changes: object) -> GisProduct:
    fields = {k: v for k, v in _fields(record).items() if k != "file"}
    return GisProduct(**{**fields, **changes})  # type: ignore[arg-type]


async def test_a_product_names_its_file_by_an_uploaded_id_never_by_a_path(cart: Cart) -> None:
    guide = await _record(cart, "guide-map")
    for attack in (*ATTACKS, uuid.uuid4().hex):  # paths, and an id no upload issued
        request = UpsertGisProductRequest(product=_product(guide, ready_file=attack))
        with pytest.raises(ValidationFailed) as refused:
            await cart.call("upsert_gis_product", request, GisProductRecord, GIS_CLERK)
        assert refused.value.details["field"] == "product.ready_file"
    assert (await _record(cart, "guide-map")).ready_file == guide.ready_file  # unchanged

    content = bytes(range(256)) * 1000  # 256 kB, several chunks
    key = f"file-{uuid.uuid4()}"
    upload = await _upload(cart, "opaskartta_2027.pdf", content, key)
    with pytest.raises(Forbidden):
        await cart.call("gis_upload_file", upload, GisFile, resident())
    stored = await cart.call("gis_upload_file", upload, GisFile, GIS_CLERK)
    assert stored.file_id == upload.file_id  # the id the store issued
    assert (stored.file_name, stored.size_bytes) == ("opaskartta_2027.pdf", len(content))
    again = await _upload(cart, "opaskartta_2027.pdf", content, key)  # streamed once more
    assert await cart.call("gis_upload_file", again, GisFile, GIS_CLERK) == stored  # replayed
    assert not await cart.files.exists(again.file_id)  # the second copy is not kept
    for bad in ("../evil.pdf", "/etc/passwd", ".hidden"):
        refused_upload = await _upload(cart, bad, content)
        with pytest.raises(ValidationFailed) as refused:
            await cart.call("gis_upload_file", refused_upload, GisFile, GIS_CLERK)
        assert refused.value.details["field"] == "file_name"
        assert not await cart.files.exists(refused_upload.file_id)  # dropped

    request = UpsertGisProductRequest(product=_product(guide, ready_file=stored.file_id))
    record = await cart.call("upsert_gis_product", request, GisProductRecord, GIS_CLERK)
    assert record.file == stored

    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    (link,) = (await order_in(cart, me, order.order_id, "fulfilled")).downloads
    grant = await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    assert grant.file_id == stored.file_id
    assert grant.file_name == "opaskartta_2027.pdf"
    assert await read_all(cart.files, grant.file_id) == content  # byte for byte


async def _upload(
    cart: Cart, file_name: str, content: bytes, key: str | None = None
) -> GisFileUploadRequest:
    """What the gateway sends cart once it has streamed an upload into the store."""
    stored = await cart.in_store(content)
    return GisFileUploadRequest(
        file_name=file_name,
        file_id=stored.file_id,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        idempotency_key=key,
    )


async def test_only_a_file_the_store_holds_as_described_is_registered(cart: Cart) -> None:
    never = GisFileUploadRequest(
        file_name="kartta.pdf", file_id=uuid.uuid4().hex, size_bytes=3, sha256="0" * 64
    )
    with pytest.raises(ValidationFailed) as refused:
        await cart.call("gis_upload_file", never, GisFile, GIS_CLERK)
    assert refused.value.details["field"] == "file_id"
    upload = await _upload(cart, "kartta.pdf", b"map")
    for lie in (
        msgspec.structs.replace(upload, size_bytes=4),
        msgspec.structs.replace(upload, sha256=hashlib.sha256(b"other").hexdigest()),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await cart.call("gis_upload_file", lie, GisFile, GIS_CLERK)
        assert refused.value.details["field"] == "file_id"
    empty = await _upload(cart, "tyhja.pdf", b"")
    with pytest.raises(ValidationFailed, match="empty"):
        await cart.call("gis_upload_file", empty, GisFile, GIS_CLERK)


async def test_the_public_catalogue_carries_no_file_reference(cart: Cart) -> None:
    raw = await cart.requester.call(
        "cart.v1.list_gis_products", ListGisProductsRequest(include_inactive=False), dict
    )
    guide = next(p for p in raw["products"] if p["id"] == "guide-map")
    assert not {"ready_file", "file", "file_id", "file_path"} & set(guide)
    text = msgspec.json.encode(raw).decode()
    assert ".pdf" not in text


async def test_a_file_missing_from_the_store_is_not_found_and_no_download_is_counted(
    cart: Cart,
) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    (link,) = (await order_in(cart, me, order.order_id, "fulfilled")).downloads
    grant = await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    await cart.files.delete(grant.file_id)
    for _ in range(3):  # the limit is 2: a count would have used it up
        with pytest.raises(NotFound, match="missing"):
            await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    downloads = await cart.pool.fetchval(
        "SELECT downloads FROM gis_entitlements WHERE line_id = $1", link.line_id
    )
    assert downloads == 1


async def test_a_product_sold_whole_refuses_an_area_rather_than_ignoring_it(cart: Cart) -> None:
    """Found trying the API: the guide map (a fixed price) took an `area` and sold the whole
    map all the same; the buyer meant something else."""
    area = {
        "type": "Polygon",
        "coordinates": [[[22.26, 60.45], [22.27, 60.45], [22.27, 60.46], [22.26, 60.45]]],
    }
    with pytest.raises(ValidationFailed) as refused:
        await cart.call("add_gis_product", gis(area=area), CartView, resident())
    assert refused.value.details["field"] == "area"
