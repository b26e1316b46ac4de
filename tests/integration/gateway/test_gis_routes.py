"""The GIS shop through the gateway with the real cart and payment services, its files in the
NATS Object Store: a clerk's upload streams from the request body into the store (in chunks
smaller than the file; MAX_BODY_BYTES does not apply, GIS_MAX_UPLOAD_BYTES does) and cart is
told only the object's id, size and SHA-256; a product names its file by that id, never by a
path; buyers download it byte for byte from an absolute link, streamed out of the store; a
file missing from the store is 404; nobody downloads what was not paid for; a made-to-order
file delivered by a clerk answers with the line (and replays it)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions import LitestarException
from nats.aio.client import Client as NATS

from services.cart.domain import entitlements
from services.cart.settings import CartSettings
from shared.filestore import ObjectStoreFiles
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import gateway_before_services

ATTACKS = ("/etc/hostname", "../dev-issuer-key.pem", "demo/../../../../etc/hostname")
LIMIT = 4 * 1024 * 1024  # GIS_MAX_UPLOAD_BYTES here; the JSON routes' MAX_BODY_BYTES is 4 kB


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(
        hosted, common_settings, tmp_path, booking=False, gis_max_upload_bytes=LIMIT
    ) as client:
        yield client


@pytest.fixture
def files(nc: NATS, common_settings: CommonSettings) -> ObjectStoreFiles:
    return ObjectStoreFiles(nc, common_settings.gis_files_bucket)


async def objects(files: ObjectStoreFiles) -> int:
    """Messages in the bucket's stream (chunks and descriptions)."""
    return (await files.js.stream_info(files.stream)).state.messages or 0


def upload_headers(clerk: dict[str, str]) -> dict[str, str]:
    return {**clerk, **key(), "Content-Type": "application/octet-stream"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4()}"}


async def record_of(client: GatewayClient, clerk: dict[str, str], product_id: str) -> dict:
    reply = await client.get("/api/v1/gis/products/records", headers=clerk)
    assert reply.status_code == 200, reply.text
    (found,) = [p for p in reply.json()["products"] if p["id"] == product_id]
    return found


async def buy(client: GatewayClient, me: dict[str, str], product: dict[str, Any]) -> dict:
    """Add, check out and pay on the local provider's page; the paid order."""
    added = await client.post("/api/v1/cart/gis-products", json=product, headers=me)
    assert added.status_code == 201, added.text
    checked_out = await client.post("/api/v1/cart/checkout", headers={**me, **key()})
    assert checked_out.status_code == 201, checked_out.text
    order = checked_out.json()
    started = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=me
    )
    assert started.status_code == 201, started.text
    payment_id = started.json()["payment_id"]
    paid = await client.post(f"/pay/local/{payment_id}", data={"decision": "pay"}, headers=me)
    assert paid.status_code == 200, paid.text
    for _ in range(100):
        seen = (await client.get(f"/api/v1/orders/{order['order_id']}", headers=me)).json()
        if seen["state"] in ("paid", "fulfilled"):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"order stayed {seen}")


GUIDE_MAP = {
    "product_id": "guide-map",
    "format": "PDF",
    "licence_type": "CC BY 4.0",
    "purpose_of_use": "a walking route for a school class",
    "licence_accepted": True,
}
PLAN = GUIDE_MAP | {"product_id": "detailed-plan", "format": "DWG", "licence_type": "internal use"}


async def test_a_product_file_is_an_uploaded_id_and_downloads_byte_for_byte(
    suite, files: ObjectStoreFiles, common_settings: CommonSettings, tmp_path: Path
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-gis")
    product = {
        k: v for k, v in (await record_of(client, clerk, "guide-map")).items() if k != "file"
    }
    for attack in ATTACKS:
        refused = await client.put(
            "/api/v1/gis/products",
            json={"product": product | {"ready_file": attack}},
            headers={**clerk, **key()},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "product.ready_file", refused.text

    content = os.urandom(3 * 1024 * 1024 + 777)  # 25 chunks of 128 kB, far over MAX_BODY_BYTES
    assert common_settings.gis_files_chunk_bytes < len(content)
    uploaded = await client.post(
        "/api/v1/gis/files",
        params={"file_name": "opaskartta_2027.pdf"},
        content=content,
        headers=upload_headers(clerk),
    )
    assert uploaded.status_code == 201, uploaded.text
    file = uploaded.json()
    assert file["size_bytes"] == len(content)
    assert file["sha256"] == hashlib.sha256(content).hexdigest()
    assert "/" not in file["file_id"]
    assert (await files.stat(file["file_id"])).size_bytes == len(content)  # in the bucket
    saved = await client.put(
        "/api/v1/gis/products",
        json={"product": product | {"ready_file": file["file_id"]}},
        headers={**clerk, **key()},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["file"]["file_name"] == "opaskartta_2027.pdf"

    catalogue = await client.get("/api/v1/gis/products")
    assert catalogue.status_code == 200
    assert all("ready_file" not in p and "file" not in p for p in catalogue.json()["products"])
    assert file["file_id"] not in catalogue.text

    me = await bearer(client, "resident-turku")
    order = await buy(client, me, GUIDE_MAP)
    (link,) = order["downloads"]
    assert link["url"] == f"http://testserver/api/v1/downloads/{link['token']}"  # absolute
    downloaded = await client.get(link["url"])
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == content  # byte for byte
    assert downloaded.headers["content-length"] == str(len(content))
    assert "attachment" in downloaded.headers["content-disposition"]
    assert 'filename="opaskartta_2027.pdf"' in downloaded.headers["content-disposition"]
    assert downloaded.headers["content-type"] == "application/pdf"  # its own type, not bytes


async def test_an_upload_is_refused_before_it_fills_the_store(
    suite, files: ObjectStoreFiles
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-gis")
    before = await objects(files)
    bad_name = await client.post(
        "/api/v1/gis/files",
        params={"file_name": "../dev-issuer-key.pem"},
        content=b"map",
        headers=upload_headers(clerk),
    )
    assert bad_name.status_code == 400, bad_name.text
    too_large = await client.post(
        "/api/v1/gis/files",
        params={"file_name": "iso.tif"},
        content=b"x" * (LIMIT + 1),
        headers=upload_headers(clerk),
    )
    assert too_large.status_code == 413, too_large.text
    empty = await client.post(
        "/api/v1/gis/files",
        params={"file_name": "tyhja.pdf"},
        content=b"",
        headers=upload_headers(clerk),
    )
    assert empty.status_code == 422, empty.text  # cart refuses it and drops the object
    me = await bearer(client, "resident-turku")
    resident = await client.post(
        "/api/v1/gis/files",
        params={"file_name": "kartta.pdf"},
        content=b"map",
        headers=upload_headers(me),
    )
    assert resident.status_code == 403, resident.text
    await asyncio.sleep(0.2)  # the empty object's deletion marker is written last
    state = (await files.js.stream_info(files.stream)).state
    assert (state.messages or 0) - before <= 1  # at most the deletion marker, no chunks


async def test_a_file_missing_from_the_store_is_404(suite, files: ObjectStoreFiles) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    order = await buy(client, me, GUIDE_MAP)
    (link,) = order["downloads"]
    clerk = await bearer(client, "clerk-gis")
    record = await record_of(client, clerk, "guide-map")
    await files.delete(record["ready_file"])
    missing = await client.get(link["url"])
    assert missing.status_code == 404, missing.text
    assert missing.json()["code"] == "not_found"
    assert b"%PDF" not in missing.content


async def test_a_resident_cannot_download_a_file_not_paid_for(suite) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    added = await client.post("/api/v1/cart/gis-products", json=GUIDE_MAP, headers=me)
    assert added.status_code == 201, added.text
    order = (await client.post("/api/v1/cart/checkout", headers={**me, **key()})).json()
    seen = (await client.get(f"/api/v1/orders/{order['order_id']}", headers=me)).json()
    assert seen["state"] == "awaiting_payment"
    assert seen["downloads"] == []  # no link before payment
    secret = CartSettings().download_secret  # the cart's under real_services
    for line in seen["lines"]:  # a link made up for the unpaid line: no such download
        made_up = entitlements.sign(secret, uuid.UUID(line["line"]["line_id"]), _tomorrow())
        refused = await client.get(f"/api/v1/downloads/{made_up}")
        assert refused.status_code == 404, refused.text
    forged = entitlements.sign("not-our-secret", uuid.uuid4(), _tomorrow())
    assert (await client.get(f"/api/v1/downloads/{forged}")).status_code == 403
    records = await client.get("/api/v1/gis/products/records", headers=me)
    assert records.status_code == 403  # the file ids are for GIS clerks only


def _tomorrow() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


async def test_a_clerk_delivers_a_made_to_order_file_and_the_reply_replays(
    suite, files: ObjectStoreFiles
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-gis")
    me = await bearer(client, "resident-turku")
    order = await buy(client, me, PLAN)
    queue = (await client.get("/api/v1/gis/queue", headers=clerk)).json()["items"]
    (item,) = [i for i in queue if i["order_id"] == order["order_id"]]
    path = f"/api/v1/gis/queue/{item['line_id']}/file"
    params = {"file_name": "asemakaava_853.dwg"}
    first = upload_headers(clerk)
    delivered = await client.post(path, params=params, content=b"AC1032", headers=first)
    assert delivered.status_code == 201, delivered.text  # 500 before: OrderView was declared
    assert delivered.json()["state"] == "fulfilled"
    assert delivered.json()["line"]["line_id"] == item["line_id"]
    before = await objects(files)
    again = await client.post(path, params=params, content=b"AC1032", headers=first)
    assert again.status_code == 201, again.text
    assert again.json() == delivered.json()
    other = await client.post(path, params=params, content=b"AC1032", headers=upload_headers(clerk))
    assert other.status_code == 409, other.text  # delivered already
    # the two copies streamed for the replay and the refusal were dropped (a marker each)
    assert await objects(files) - before == 2
    seen = (await client.get(f"/api/v1/orders/{order['order_id']}", headers=me)).json()
    (link,) = seen["downloads"]
    assert (await client.get(link["url"])).content == b"AC1032"


async def test_a_clerk_uploads_files_from_the_staff_pages_into_the_store(
    suite, files: ObjectStoreFiles
) -> None:
    """The staff console's forms (session cookie, multipart) put the file into the store in
    chunks and register it by id, as the API routes do."""
    client = suite
    me = await bearer(client, "resident-turku")
    order = await buy(client, me, PLAN)
    signed_in = await client.post("/dev-issuer/sign-in", data={"user": "clerk-gis", "next": "/"})
    assert signed_in.status_code == 303, signed_in.text
    own = {"Origin": "http://testserver"}
    content = os.urandom(2000)
    saved = await client.post(
        "/staff/gis/ready-files/guide-map",
        files={"file": ("opaskartta_2028.pdf", content, "application/pdf")},
        headers=own,
    )
    assert saved.status_code == 303, saved.text
    clerk = await bearer(client, "clerk-gis")
    record = await record_of(client, clerk, "guide-map")
    assert record["file"]["file_name"] == "opaskartta_2028.pdf"
    assert (await files.stat(record["ready_file"])).sha256 == hashlib.sha256(content).hexdigest()
    queue = (await client.get("/api/v1/gis/queue", headers=clerk)).json()["items"]
    (item,) = [i for i in queue if i["order_id"] == order["order_id"]]
    delivered = await client.post(
        f"/staff/gis/{item['line_id']}/file",
        files={"file": ("asemakaava.dwg", b"AC1032 staff", "application/octet-stream")},
        headers=own,
    )
    assert delivered.status_code == 303, delivered.text
    seen = (await client.get(f"/api/v1/orders/{order['order_id']}", headers=me)).json()
    (link,) = seen["downloads"]
    assert (await client.get(link["url"])).content == b"AC1032 staff"


async def test_a_file_whose_chunks_are_lost_is_cut_short_never_served_as_whole(
    suite, files: ObjectStoreFiles, caplog: pytest.LogCaptureFixture
) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    order = await buy(client, me, GUIDE_MAP)
    (link,) = order["downloads"]
    clerk = await bearer(client, "clerk-gis")
    record = await record_of(client, clerk, "guide-map")
    info = await files._info(record["ready_file"])  # the description stays, the chunks go
    await files.js.purge_stream(files.stream, subject=files._chunk_subject(info.nuid))
    with pytest.raises(LitestarException, match="after response started"):  # broken off
        await client.get(link["url"])
    assert "broke off while streamed: FileDamaged" in caplog.text
