"""GIS delivery: download entitlements, the made-to-order queue, clerks' uploads, downloads."""

from __future__ import annotations

import mimetypes
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import asyncpg
import msgspec

from services.cart import catalogue_store, gis_store, store
from services.cart.access import require_role
from services.cart.deps import Deps
from services.cart.domain import entitlements
from services.cart.domain.model import next_line_state
from services.cart.gis import checked_upload
from services.cart.settings import CartSettings
from services.cart.views import page
from shared import idempotency
from shared.contracts.cart import (
    DownloadGrant,
    DownloadLink,
    DownloadRequest,
    GisFile,
    GisQueue,
    GisQueueItem,
    GisQueueRequest,
    GisUploadRequest,
    OrderLineSnapshot,
    OrderLineView,
)
from shared.contracts.common import RequestContext
from shared.errors import Conflict, Gone, NotFound
from shared.filestore import chunks_of


async def grant(
    conn: asyncpg.Connection,
    settings: CartSettings,
    *,
    line_id: uuid.UUID,
    order_id: uuid.UUID,
    customer: str,
    file: GisFile,
) -> None:
    await gis_store.add_entitlement(
        conn,
        line_id=line_id,
        order_id=order_id,
        customer=customer,
        file_name=file.file_name,
        file_id=file.file_id,
        expires_at=datetime.now(UTC) + timedelta(hours=settings.download_valid_hours),
        max_downloads=settings.download_limit,
    )


async def deliver_paid_line(
    conn: asyncpg.Connection, deps: Deps, order: asyncpg.Record, line: asyncpg.Record
) -> None:
    """A product with a ready file becomes a download at once; made to order joins the queue.

    Decided from the database alone (the file's registration), inside the caller's
    transaction: the file store is not asked here."""
    product_id = line["details"].get("product_id", "")
    try:
        product = await catalogue_store.gis_product(conn, product_id)
        file = (
            await catalogue_store.gis_file(conn, product.ready_file) if product.ready_file else None
        )
    except NotFound:
        file = None
    if file is not None:
        await grant(
            conn,
            deps.settings,
            line_id=line["id"],
            order_id=order["id"],
            customer=order["customer"],
            file=file,
        )
        await store.set_line_state(conn, line["id"], next_line_state(line["state"], "fulfil"))
    else:
        await store.set_line_state(conn, line["id"], next_line_state(line["state"], "queue"))


def download_url(settings: CartSettings, token: str) -> str:
    """The absolute link a buyer follows: the gateway's public address + the signed token."""
    return f"{settings.public_url.rstrip('/')}/api/v1/downloads/{quote(token, safe='')}"


async def download_links(
    conn: asyncpg.Connection, settings: CartSettings, order_id: uuid.UUID
) -> list[DownloadLink]:
    rows = await gis_store.live_entitlements(conn, order_id)
    links = []
    for r in rows:
        token = entitlements.sign(settings.download_secret, r["id"], r["expires_at"])
        links.append(
            DownloadLink(
                line_id=r["line_id"],
                url=download_url(settings, token),
                token=token,
                file_name=r["file_name"],
                expires_at=r["expires_at"],
                downloads_left=max(0, r["max_downloads"] - r["downloads"]),
            )
        )
    return links


async def queue(deps: Deps, req: GisQueueRequest, ctx: RequestContext) -> GisQueue:
    require_role(ctx, "gis_clerk")
    async with deps.pool.acquire() as conn:
        rows = await gis_store.queue(conn, req.limit + 1, req.offset)
    shown, next_offset = page(rows, req.limit, req.offset)
    return GisQueue(
        items=[
            GisQueueItem(
                order_id=r["order_id"],
                order_number=r["order_number"],
                line_id=r["id"],
                description=r["snapshot"]["description"],
                details=r["details"],
                paid_at=r["paid_at"],
            )
            for r in shown
        ],
        next_offset=next_offset,
    )


async def _queued_line(conn: asyncpg.Connection, line_id: uuid.UUID) -> asyncpg.Record:
    line = await store.order_line(conn, line_id, lock=True)
    if line is None or line["kind"] != "gis_product":
        raise NotFound("no such GIS order line", field="line_id")
    if line["state"] != "queued":
        raise Conflict(f"this line is {line['state']}, not waiting for a file", field="line_id")
    return line


async def upload(deps: Deps, req: GisUploadRequest, ctx: RequestContext) -> OrderLineView:
    """A GIS clerk delivers a made-to-order file; the line is fulfilled and the link released.

    The file goes into the store before the transaction (no I/O while rows are locked); the
    transaction then checks the line again under its lock. A file stored for a request that
    then loses (a twin, a refund meanwhile) stays unreferenced."""
    from services.cart.fulfilment import settle_order_if_done  # the order-level rule

    principal = require_role(ctx, "gis_clerk")
    content = checked_upload(req.file_name, req.content_b64)
    async with deps.pool.acquire() as conn, conn.transaction():
        cached = await idempotency.lookup(
            conn, "cart.gis_upload", principal, req.idempotency_key, req
        )
        if cached is not None:
            return msgspec.json.decode(cached, type=OrderLineView)
        await _queued_line(conn, req.line_id)
    stored = await deps.file_store.put(chunks_of(content))
    async with deps.pool.acquire() as conn, conn.transaction():
        cached = await idempotency.lookup(
            conn, "cart.gis_upload", principal, req.idempotency_key, req
        )
        if cached is not None:
            return msgspec.json.decode(cached, type=OrderLineView)
        line = await _queued_line(conn, req.line_id)
        order = await store.order(conn, line["order_id"], lock=True)
        assert order is not None
        file = await catalogue_store.add_gis_file(
            conn,
            file_id=stored.file_id,
            file_name=req.file_name,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            uploaded_by=principal.subject,
        )
        await grant(
            conn,
            deps.settings,
            line_id=line["id"],
            order_id=order["id"],
            customer=order["customer"],
            file=file,
        )
        await store.set_line_state(conn, line["id"], next_line_state("queued", "fulfil"))
        await store.merge_line_details(conn, line["id"], {"uploaded_by": principal.subject})
        await settle_order_if_done(conn, order["id"])
        fresh = await store.order_line(conn, line["id"])
        assert fresh is not None
        reply = OrderLineView(
            line=msgspec.convert(fresh["snapshot"], type=OrderLineSnapshot),
            state=fresh["state"],
            refunded_cents=fresh["refunded_cents"],
            details=fresh["details"],
        )
        await idempotency.remember(
            conn, "cart.gis_upload", principal, req.idempotency_key, req, reply
        )
        return reply


async def download(deps: Deps, req: DownloadRequest, _: RequestContext) -> DownloadGrant:
    """The link is the credential (it is sent to the buyer only); count one download.

    The grant names the file by its id: the gateway streams it from the file store."""
    entitlement_id = entitlements.verify(deps.settings.download_secret, req.token)
    async with deps.pool.acquire() as conn, conn.transaction():
        found = await gis_store.entitlement_for_download(conn, entitlement_id)
        if found is None:
            raise NotFound("no such download")
        if found["refunded"]:
            raise Gone("this purchase was refunded; its download is closed", reason="refunded")
        if found["expires_at"] <= datetime.now(UTC):
            raise Gone("this download link has expired", reason="expired")
        if found["downloads"] >= found["max_downloads"]:
            raise Gone("this download link has been used up", reason="limit_reached")
        file = await catalogue_store.gis_file(conn, found["file_id"]) if found["file_id"] else None
        if file is None:
            raise NotFound("the file is missing; contact the survey services")
        row = await gis_store.count_download(conn, entitlement_id)
    return DownloadGrant(
        file_id=file.file_id,
        file_name=row["file_name"],
        size_bytes=file.size_bytes,
        content_type=mimetypes.guess_type(row["file_name"])[0] or "application/octet-stream",
        downloads_left=row["max_downloads"] - row["downloads"],
    )
