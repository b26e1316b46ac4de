"""GIS delivery: a paid line becomes a download at once (a ready file) or joins the queue
(made to order) until a GIS clerk uploads its file; buyers download with signed links."""

from __future__ import annotations

import logging
import mimetypes
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import asyncpg
import msgspec

from services.cart.access import require_role
from services.cart.domain import entitlements
from services.cart.domain.model import Order, OrderLine, next_line_state
from services.cart.gis import delivery_store, store, uploads
from services.cart.orders import settling
from services.cart.orders import store as orders
from services.cart.settings import CartSettings
from services.cart.views import page
from shared import idempotency
from shared.contracts.cart import (
    DownloadGrant,
    DownloadLink,
    DownloadRequest,
    GisFile,
    GisFileReady,
    GisQueue,
    GisQueueRequest,
    GisUploadRequest,
    OrderLineView,
)
from shared.contracts.common import Principal, RequestContext
from shared.errors import Conflict, Gone, NotFound, Unavailable
from shared.events import add_event
from shared.filestore import FileStore, StoredFile

log = logging.getLogger(__name__)


class GisDelivery:
    """The GIS shop as the owner of its order lines, and the clerks' and buyers' operations."""

    def __init__(self, pool: asyncpg.Pool, settings: CartSettings, files: FileStore) -> None:
        self.pool = pool
        self.settings = settings
        self.files = files

    async def paid(self, conn: asyncpg.Connection, order: Order, line: OrderLine) -> None:
        """Decided from the database alone (the file's registration), inside the caller's
        transaction: the file store is not asked here."""
        product_id = line.details.get("product_id", "")
        try:
            product = await store.product(conn, product_id)
            file = await store.file(conn, product.ready_file) if product.ready_file else None
        except NotFound:
            file = None
        if file is None:
            await orders.set_line_state(conn, line.id, next_line_state(line.state, "queue"))
            return
        await self._grant(conn, order, line, file)
        await orders.set_line_state(conn, line.id, next_line_state(line.state, "fulfil"))

    async def refund_asked(
        self, conn: asyncpg.Connection, line: OrderLine, amount_cents: int
    ) -> None:
        """Nothing to stop: a refunded line's download closes by itself (see the store)."""

    async def _grant(
        self, conn: asyncpg.Connection, order: Order, line: OrderLine, file: GisFile
    ) -> None:
        """The buyer's download, and `evt.cart.gis.file_ready` (notify mails the buyer)."""
        expires_at = datetime.now(UTC) + timedelta(hours=self.settings.download_valid_hours)
        await delivery_store.add_entitlement(
            conn,
            line_id=line.id,
            order_id=order.id,
            customer=order.customer,
            file_name=file.file_name,
            file_id=file.file_id,
            expires_at=expires_at,
            max_downloads=self.settings.download_limit,
        )
        await add_event(
            conn,
            GisFileReady(
                order_id=order.id,
                order_number=order.order_number,
                customer=order.customer,
                line_id=line.id,
                merchant_id=line.merchant_id,
                description=line.snapshot.description,
                file_name=file.file_name,
                expires_at=expires_at,
            ),
        )

    def download_url(self, token: str) -> str:
        """The absolute link a buyer follows: the gateway's public address + the token."""
        return f"{self.settings.public_url.rstrip('/')}/api/v1/downloads/{quote(token, safe='')}"

    async def download_links(
        self, conn: asyncpg.Connection, order_id: uuid.UUID
    ) -> list[DownloadLink]:
        links = []
        for e in await delivery_store.live_entitlements(conn, order_id):
            token = entitlements.sign(self.settings.download_secret, e.id, e.expires_at)
            links.append(
                DownloadLink(
                    line_id=e.line_id,
                    url=self.download_url(token),
                    token=token,
                    file_name=e.file_name,
                    expires_at=e.expires_at,
                    downloads_left=e.downloads_left,
                )
            )
        return links

    async def queue(self, req: GisQueueRequest, ctx: RequestContext) -> GisQueue:
        require_role(ctx, "gis_clerk")
        async with self.pool.acquire() as conn:
            rows = await delivery_store.queue(conn, req.limit + 1, req.offset)
        items, next_offset = page(rows, req.limit, req.offset)
        return GisQueue(items=items, next_offset=next_offset)

    async def upload(self, req: GisUploadRequest, ctx: RequestContext) -> OrderLineView:
        """A GIS clerk delivers a made-to-order file; the line is fulfilled, the link released.

        The gateway has streamed the file into the store; the store is asked with no
        transaction open, then the transaction checks the line again under its lock. An
        object not kept (a refusal, a replay, a twin that lost) is dropped."""
        principal = require_role(ctx, "gis_clerk")
        try:
            reply, kept = await self._upload(principal, req)
        except Exception as exc:
            if uploads.refused(exc):
                await uploads.discard(self.pool, self.files, req.file_id)
            raise
        if not kept:
            await uploads.discard(self.pool, self.files, req.file_id)
        return reply

    async def _upload(
        self, principal: Principal, req: GisUploadRequest
    ) -> tuple[OrderLineView, bool]:
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await _replayed(conn, principal, req)
            if cached is not None:
                return cached, False
            await _queued_line(conn, req.line_id)
        stored = await uploads.checked_file(
            self.files, req.file_name, req.file_id, req.size_bytes, req.sha256
        )
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await _replayed(conn, principal, req)
            if cached is not None:
                return cached, False
            reply = await self._deliver(conn, principal, req, stored)
            await idempotency.remember(
                conn, "cart.gis_upload", principal, req.idempotency_key, _key(req), reply
            )
            return reply, True

    async def _deliver(
        self,
        conn: asyncpg.Connection,
        principal: Principal,
        req: GisUploadRequest,
        stored: StoredFile,
    ) -> OrderLineView:
        line = await _queued_line(conn, req.line_id)  # locks the order, then the line
        order = await orders.order(conn, line.order_id, lock=True)
        assert order is not None
        file = await store.add_file(
            conn,
            file_id=stored.file_id,
            file_name=req.file_name,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            uploaded_by=principal.subject,
        )
        await self._grant(conn, order, line, file)
        await orders.set_line_state(conn, line.id, next_line_state("queued", "fulfil"))
        await orders.merge_line_details(conn, line.id, {"uploaded_by": principal.subject})
        await settling.settle_order_if_done(conn, order.id)
        fresh = await orders.order_line(conn, line.id)
        assert fresh is not None
        return OrderLineView(
            line=fresh.snapshot,
            state=fresh.state,
            refunded_cents=fresh.refunded_cents,
            details=fresh.details,
        )

    async def download(self, req: DownloadRequest, _: RequestContext) -> DownloadGrant:
        """The link is the credential (it is sent to the buyer only); count one download.
        The grant names the file by its id: the gateway streams it from the file store. A
        file missing from the store is `not_found` before a download is counted (the store
        asked with no transaction open)."""
        entitlement_id = entitlements.verify(self.settings.download_secret, req.token)
        async with self.pool.acquire() as conn:
            file = await _downloadable(conn, entitlement_id)
        if not await self._in_store(file.file_id):
            raise NotFound("the file is missing; contact the survey services")
        async with self.pool.acquire() as conn, conn.transaction():
            file = await _downloadable(conn, entitlement_id)
            counted = await delivery_store.count_download(conn, entitlement_id)
        return DownloadGrant(
            file_id=file.file_id,
            file_name=counted.file_name,
            size_bytes=file.size_bytes,
            content_type=mimetypes.guess_type(counted.file_name)[0] or "application/octet-stream",
            downloads_left=counted.max_downloads - counted.downloads,
        )

    async def _in_store(self, file_id: str) -> bool:
        try:
            return await self.files.exists(file_id)
        except Exception as exc:  # NATS away or slow: the buyer may try again
            log.warning("the GIS file store did not answer: %s", type(exc).__name__)
            raise Unavailable("the file store is not available; try again") from None


async def _downloadable(conn: asyncpg.Connection, entitlement_id: uuid.UUID) -> GisFile:
    """The file an entitlement may still download (locked inside a transaction)."""
    found = await delivery_store.entitlement_for_download(conn, entitlement_id)
    if found is None:
        raise NotFound("no such download")
    entitlement, refunded = found
    if refunded:
        raise Gone("this purchase was refunded; its download is closed", reason="refunded")
    if entitlement.expires_at <= datetime.now(UTC):
        raise Gone("this download link has expired", reason="expired")
    if entitlement.downloads >= entitlement.max_downloads:
        raise Gone("this download link has been used up", reason="limit_reached")
    file = await store.file(conn, entitlement.file_id) if entitlement.file_id else None
    if file is None:
        raise NotFound("the file is missing; contact the survey services")
    return file


async def _replayed(
    conn: asyncpg.Connection, principal: Principal, req: GisUploadRequest
) -> OrderLineView | None:
    cached = await idempotency.lookup(
        conn, "cart.gis_upload", principal, req.idempotency_key, _key(req)
    )
    return None if cached is None else msgspec.json.decode(cached, type=OrderLineView)


def _key(req: GisUploadRequest) -> GisUploadRequest:
    fingerprint: GisUploadRequest = uploads.fingerprint(req)
    return fingerprint


async def _queued_line(conn: asyncpg.Connection, line_id: uuid.UUID) -> OrderLine:
    line = await orders.order_line(conn, line_id, lock=True)
    if line is None or line.kind != "gis_product":
        raise NotFound("no such GIS order line", field="line_id")
    if line.state != "queued":
        raise Conflict(f"this line is {line.state}, not waiting for a file", field="line_id")
    return line
