"""The GIS catalogue's use cases: the public catalogue, the clerks' records and products,
their ready files (stored in the GIS file store, named by the id it issued)."""

from __future__ import annotations

import asyncpg
import msgspec

from services.cart.access import require_role
from services.cart.domain.gis import check_product
from services.cart.gis import store, uploads
from services.cart.views import page
from shared import idempotency
from shared.contracts.cart import (
    GisFile,
    GisFileUploadRequest,
    GisProductList,
    GisProductRecord,
    GisProductRecordList,
    GisProductRecordsRequest,
    ListGisProductsRequest,
    UpsertGisProductRequest,
)
from shared.contracts.common import Principal, RequestContext
from shared.errors import ValidationFailed
from shared.filestore import FILE_ID, FileStore


class GisCatalogue:
    def __init__(self, pool: asyncpg.Pool, files: FileStore) -> None:
        self.pool = pool
        self.files = files

    async def list_products(
        self, req: ListGisProductsRequest, ctx: RequestContext
    ) -> GisProductList:
        if req.include_inactive:
            require_role(ctx, "gis_clerk")
        async with self.pool.acquire() as conn:
            rows = await store.products(conn, req.include_inactive, req.limit + 1, req.offset)
        products, next_offset = page(rows, req.limit, req.offset)
        return GisProductList(products=products, next_offset=next_offset)

    async def product_records(
        self, req: GisProductRecordsRequest, ctx: RequestContext
    ) -> GisProductRecordList:
        require_role(ctx, "gis_clerk")
        async with self.pool.acquire() as conn:
            rows = await store.product_records(conn, req.limit + 1, req.offset)
        products, next_offset = page(rows, req.limit, req.offset)
        return GisProductRecordList(products=products, next_offset=next_offset)

    async def upsert_product(
        self, req: UpsertGisProductRequest, ctx: RequestContext
    ) -> GisProductRecord:
        require_role(ctx, "gis_clerk")
        p = req.product
        check_product(p)
        if p.ready_file is not None and not FILE_ID.fullmatch(p.ready_file):
            raise ValidationFailed(
                "name the ready file by the file id its upload returned "
                "(POST /api/v1/gis/files), never by a path",
                field="product.ready_file",
            )
        async with self.pool.acquire() as conn, conn.transaction():
            if p.ready_file is not None and await store.file(conn, p.ready_file) is None:
                raise ValidationFailed(
                    "no file with this id was uploaded", field="product.ready_file"
                )
            await store.upsert_product(conn, p)
            return await store.product_record(conn, p.id)

    async def upload_file(self, req: GisFileUploadRequest, ctx: RequestContext) -> GisFile:
        """A GIS clerk registers a product's ready file, streamed into the file store by the
        gateway; the reply's id is what the product names. The store is asked with no
        transaction open; an object not kept (refused, or a replay) is dropped."""
        principal = require_role(ctx, "gis_clerk")
        try:
            reply = await self._register(principal, req)
        except Exception as exc:
            if uploads.refused(exc):
                await uploads.discard(self.pool, self.files, req.file_id)
            raise
        if reply.file_id != req.file_id:  # a replay: the first upload's file is the one
            await uploads.discard(self.pool, self.files, req.file_id)
        return reply

    async def _register(self, principal: Principal, req: GisFileUploadRequest) -> GisFile:
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await _replayed(conn, principal, req)
            if cached is not None:
                return cached
        stored = await uploads.checked_file(
            self.files, req.file_name, req.file_id, req.size_bytes, req.sha256
        )
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await _replayed(conn, principal, req)
            if cached is not None:  # a twin request finished first
                return cached
            reply = await store.add_file(
                conn,
                file_id=stored.file_id,
                file_name=req.file_name,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                uploaded_by=principal.subject,
            )
            await idempotency.remember(
                conn, "cart.gis_upload_file", principal, req.idempotency_key, _key(req), reply
            )
            return reply


def _key(req: GisFileUploadRequest) -> GisFileUploadRequest:
    fingerprint: GisFileUploadRequest = uploads.fingerprint(req)
    return fingerprint


async def _replayed(
    conn: asyncpg.Connection, principal: Principal, req: GisFileUploadRequest
) -> GisFile | None:
    cached = await idempotency.lookup(
        conn, "cart.gis_upload_file", principal, req.idempotency_key, _key(req)
    )
    return None if cached is None else msgspec.json.decode(cached, type=GisFile)
