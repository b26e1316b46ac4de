"""GIS files through the gateway, streamed: a clerk's upload goes from the request body into
the NATS Object Store in chunks (never held whole, never inside a NATS message); cart is then
told only the file's id, size and SHA-256 and registers it (checking that the store holds
exactly that). The buyer's download (`routes/cart.py`) streams the other way once cart has
authorised it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import nats.errors
import nats.js.errors
from litestar import Request, post
from litestar.datastructures import UploadFile
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    RequestBody,
    Schema,
)
from litestar.params import PathParameter, QueryParameter
from nats.aio.client import Client as NATS

from services.gateway.clients import Call, services_of
from services.gateway.errors import problem
from services.gateway.openapi import ProblemOperation, documented_errors
from services.gateway.routes.operation import IdempotencyKey, call_opt
from services.gateway.routes.who import GIS
from shared.contracts import cart as c
from shared.errors import Unavailable
from shared.filestore import (
    CHUNK_BYTES,
    FileDamaged,
    FileReader,
    ObjectStoreFiles,
    StoredFile,
    open_file_store,
)
from shared.settings import CommonSettings

log = logging.getLogger(__name__)

UPLOAD_FILE = Call("cart.v1.gis_upload_file", c.GisFileUploadRequest, c.GisFile)
DELIVER_FILE = Call("cart.v1.gis_upload", c.GisUploadRequest, c.OrderLineView)

FileName = Annotated[
    str,
    QueryParameter(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$",
        description="the file's name as buyers get it (letters, digits, . _ -; no path)",
    ),
]
STORE_ERRORS = (nats.errors.Error, nats.js.errors.Error, FileDamaged, TimeoutError)


async def files_of(request: Request[Any, Any, Any]) -> ObjectStoreFiles:
    """The GIS file store on this event loop's NATS connection (one per connection, kept by
    the app)."""
    nc = (await services_of(request).resources()).nc
    stores: dict[int, ObjectStoreFiles] = request.app.state.setdefault("gis_file_stores", {})
    found = stores.get(id(nc))
    if found is None or found.nc is not nc:
        common: CommonSettings = request.app.state.common_settings
        found = stores[id(nc)] = ObjectStoreFiles(
            nc,
            common.gis_files_bucket,
            chunk_bytes=common.gis_files_chunk_bytes,
            timeout_s=common.request_timeout_s,
        )
    return found


async def open_files_bucket(nc: NATS, common: CommonSettings) -> None:
    """Make the bucket at start when it is missing (replicas from GIS_FILES_REPLICAS)."""
    await open_file_store(nc, common.gis_files_bucket, replicas=common.gis_files_replicas)


@dataclass
class UploadOperation(ProblemOperation):
    """An operation whose request body is the file itself."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = RequestBody(
            content={
                "application/octet-stream": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                )
            },
            description="The file's content as it is (any media type), streamed",
            required=True,
        )


async def streamed(file_id: str, reader: FileReader) -> AsyncIterator[bytes]:
    """A download's chunks; a store failing half-way is logged and cuts the response short
    (the client sees fewer bytes than Content-Length said)."""
    try:
        async for chunk in reader:
            yield chunk
    except STORE_ERRORS as exc:
        log.error("GIS file %s broke off while streamed: %s", file_id, type(exc).__name__)
        raise


def _too_large(limit: int) -> Exception:
    return problem(
        413,
        "payload_too_large",
        f"a GIS file may be at most {limit} bytes (GIS_MAX_UPLOAD_BYTES)",
        field="body",
    )


async def receive_file(request: Request[Any, Any, Any]) -> StoredFile:
    """The request body streamed into the file store; 413 past GIS_MAX_UPLOAD_BYTES (what
    was stored is dropped), 503 when the store cannot take it."""
    limit: int = request.app.state.gateway_settings.gis_max_upload_bytes
    if (request.content_length or 0) > limit:
        raise _too_large(limit)

    async def body() -> AsyncIterator[bytes]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            yield chunk

    files = await files_of(request)
    try:
        return await files.put(body())
    except STORE_ERRORS as exc:
        log.error("the GIS file store did not take an upload: %s", type(exc).__name__)
        raise Unavailable("the file store is not available; try again") from None


async def store_form_file(request: Request[Any, Any, Any], upload: UploadFile) -> StoredFile:
    """A file from a staff page's form, moved into the file store in chunks."""

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(CHUNK_BYTES):
            yield chunk

    files = await files_of(request)
    try:
        return await files.put(chunks())
    except STORE_ERRORS as exc:
        log.error("the GIS file store did not take an upload: %s", type(exc).__name__)
        raise Unavailable("the file store is not available; try again") from None


def _upload_doc(summary: str, description: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": description + "\n\nWho may call: gis_clerk, admin; API keys: gis.",
        "status_code": 201,
        "guards": GIS.guards(),
        "request_max_body_size": None,  # GIS_MAX_UPLOAD_BYTES, counted while streaming
        **documented_errors(public=False, method="POST"),
        "operation_class": UploadOperation,
    }


@post(
    "/gis/files",
    opt=call_opt(UPLOAD_FILE, GIS),
    **_upload_doc(
        "Store a product's ready file; the reply's file id is what the product names",
        "The body is the file (streamed into the GIS file store); `file_name` names it. "
        f"Service operation: `{UPLOAD_FILE.subject}`. Accepts `Idempotency-Key`.",
    ),
)
async def upload_file(
    request: Request[Any, Any, Any],
    file_name: FileName,
    idempotency_key: IdempotencyKey = None,
) -> c.GisFile:
    stored = await receive_file(request)
    return await UPLOAD_FILE(
        request,
        c.GisFileUploadRequest(
            file_name=file_name,
            file_id=stored.file_id,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            idempotency_key=idempotency_key,
        ),
    )


@post(
    "/gis/queue/{line_id:uuid}/file",
    opt=call_opt(DELIVER_FILE, GIS),
    **_upload_doc(
        "Deliver the file of a queued GIS line",
        "The body is the file (streamed into the GIS file store); `file_name` names it. "
        f"Service operation: `{DELIVER_FILE.subject}`. Accepts `Idempotency-Key`.",
    ),
)
async def deliver_file(
    request: Request[Any, Any, Any],
    line_id: Annotated[uuid.UUID, PathParameter()],
    file_name: FileName,
    idempotency_key: IdempotencyKey = None,
) -> c.OrderLineView:
    stored = await receive_file(request)
    return await DELIVER_FILE(
        request,
        c.GisUploadRequest(
            line_id=line_id,
            file_name=file_name,
            file_id=stored.file_id,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            idempotency_key=idempotency_key,
        ),
    )


ROUTES = [upload_file, deliver_file]
