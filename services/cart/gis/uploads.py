"""A clerk's upload as cart sees it: the gateway has streamed the file into the GIS file store
and names the object; cart registers it only when the store holds exactly what the request
says (size and SHA-256), and forgets an object it did not keep (a refused request, a replay
of one it already answered), unless some product or line names it."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import msgspec

from services.cart.domain.gis import check_upload
from services.cart.gis import store
from shared.errors import ServiceError, Unavailable, ValidationFailed
from shared.filestore import FileMissing, FileStore, StoredFile

log = logging.getLogger(__name__)


async def checked_file(
    files: FileStore, file_name: str, file_id: str, size_bytes: int, sha256: str
) -> StoredFile:
    check_upload(file_name, size_bytes)
    try:
        stored = await files.stat(file_id)
    except FileMissing:
        raise ValidationFailed("no such file in the GIS file store", field="file_id") from None
    except Exception as exc:  # NATS away or slow: the clerk may try again
        log.warning("the GIS file store did not answer: %s", type(exc).__name__)
        raise Unavailable("the file store is not available; try again") from None
    if (stored.size_bytes, stored.sha256) != (size_bytes, sha256):
        raise ValidationFailed("the file store holds other content under this id", field="file_id")
    return stored


def fingerprint(request: Any) -> Any:
    """The request as idempotency compares it: the same content uploaded again under the same
    key is the same request, whichever object the gateway streamed it into."""
    return msgspec.structs.replace(request, file_id="0" * 32)


async def discard(pool: asyncpg.Pool, files: FileStore, file_id: str) -> None:
    """Forget an object this request did not keep (never one a file record names)."""
    async with pool.acquire() as conn:
        if await store.file(conn, file_id) is not None:
            return
    try:
        await files.delete(file_id)
    except Exception as exc:  # it stays unreferenced; nothing else depends on it
        log.warning("could not drop the unused GIS object %s: %s", file_id, type(exc).__name__)


def refused(exc: Exception) -> bool:
    """An answer that says the request changed nothing (not a timeout: that one may have)."""
    return isinstance(exc, ServiceError) and not isinstance(exc, Unavailable)
