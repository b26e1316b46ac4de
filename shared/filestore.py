"""Files kept by id in the NATS JetStream Object Store: the one way the suite stores and reads
files (GIS material), shared by every replica of every process.

A file is referred to by the id the store issued when it took the file (32 hex characters, the
object's name), never by a path, so no request can name a file the store did not take.
`FileStore` is the interface; `ObjectStoreFiles` keeps each file as one object of a bucket
(stream `OBJ_<bucket>`, chunks on `$O.<bucket>.C.<nuid>`, the description on
`$O.<bucket>.M.<base64 name>`: the layout of nats-py's and the Go client's object store, so
`nats object` reads them too). Content moves in chunks both ways and is never held whole:
`put` publishes chunk by chunk with a small window of unacknowledged ones, `open` reads chunk
after chunk with JetStream's direct get (one ahead), checking the SHA-256 at the end.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import re
import uuid
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext

from shared.jetstream import config_made_by_another, when_ready

log = logging.getLogger(__name__)

CHUNK_BYTES = 128 * 1024
PUBLISH_WINDOW = 8  # chunks published and not yet acknowledged, at most
FILE_ID = re.compile(r"^[0-9a-f]{32}$")
BUCKET_WAIT_S = 60.0


@dataclass(frozen=True)
class StoredMessage:
    """A stored message as the stream's leader gave it (data, headers with Nats-Sequence)."""

    data: bytes
    headers: dict[str, str]


class FileMissing(LookupError):
    """No file with this id can be read (never taken, removed, or not a file id at all)."""


class FileDamaged(OSError):
    """A file's content did not arrive whole (chunks missing, or its SHA-256 differs)."""


@dataclass(frozen=True)
class StoredFile:
    """What the store knows of a file it took: its id, size and SHA-256 (hex)."""

    file_id: str
    size_bytes: int
    sha256: str


class FileReader(Protocol):
    """An opened file: its size, then its content in chunks (iterate once)."""

    size_bytes: int

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class FileStore(Protocol):
    async def put(self, chunks: AsyncIterable[bytes]) -> StoredFile:
        """Take a file's content and issue a new id for it."""
        ...

    async def open(self, file_id: str) -> FileReader:
        """The file with this id, opened; `FileMissing` when there is none."""
        ...

    async def stat(self, file_id: str) -> StoredFile:
        """What the store holds under this id; `FileMissing` when there is none."""
        ...

    async def exists(self, file_id: str) -> bool: ...

    async def delete(self, file_id: str) -> None:
        """Forget the file (its chunks are purged); nothing when there is none."""
        ...


async def chunks_of(content: bytes, size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """Bytes already in memory (demo data, a small form upload) as chunks for `put`."""
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def read_all(store: FileStore, file_id: str) -> bytes:
    """The whole file (tests, small files only)."""
    reader = await store.open(file_id)
    try:
        return b"".join([chunk async for chunk in reader])
    finally:
        await reader.aclose()


def _b64_digest(hex_digest: str) -> str:
    return "SHA-256=" + base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).decode()


def _hex_digest(digest: str | None) -> str:
    encoded = (digest or "").split("=", 1)[-1] if "=" in (digest or "") else ""
    try:
        return base64.urlsafe_b64decode(encoded).hex()
    except (ValueError, binascii.Error):
        return ""


async def _rechunked(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """The content in pieces of exactly `size` bytes (the last one shorter)."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


class ObjectStoreFiles:
    """One NATS object store bucket as a `FileStore` (see the module's description)."""

    def __init__(
        self,
        nc: NATS,
        bucket: str,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        timeout_s: float = 5.0,
        window: int = PUBLISH_WINDOW,
    ) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(timeout=timeout_s)
        self.bucket = bucket
        self.stream = f"OBJ_{bucket}"
        self.chunk_bytes = chunk_bytes
        self.timeout_s = timeout_s
        self.window = max(1, window)

    def _meta_subject(self, file_id: str) -> str:
        return f"$O.{self.bucket}.M.{base64.urlsafe_b64encode(file_id.encode()).decode()}"

    def _chunk_subject(self, nuid: str) -> str:
        return f"$O.{self.bucket}.C.{nuid}"

    async def put(self, chunks: AsyncIterable[bytes]) -> StoredFile:
        file_id, nuid = uuid.uuid4().hex, uuid.uuid4().hex
        subject = self._chunk_subject(nuid)
        digest, size, count = hashlib.sha256(), 0, 0
        unacked: deque[asyncio.Future[api.PubAck]] = deque()
        try:
            async for chunk in _rechunked(chunks, self.chunk_bytes):
                digest.update(chunk)
                size += len(chunk)
                count += 1
                while len(unacked) >= self.window:
                    await asyncio.wait_for(unacked.popleft(), self.timeout_s)
                unacked.append(await self.js.publish_async(subject, chunk))
            while unacked:
                await asyncio.wait_for(unacked.popleft(), self.timeout_s)
            info = api.ObjectInfo(
                name=file_id,
                bucket=self.bucket,
                nuid=nuid,
                size=size,
                chunks=count,
                digest=_b64_digest(digest.hexdigest()),
                mtime=datetime.now(UTC).isoformat(),
                options=api.ObjectMetaOptions(max_chunk_size=self.chunk_bytes),
            )
            await self.js.publish(
                self._meta_subject(file_id),
                json.dumps(info.as_dict()).encode(),
                headers={api.Header.ROLLUP: "sub"},
            )
        except BaseException:
            # Chunks already sent are stored whether or not we wait: their acknowledgements
            # are awaited (bounded) so that the purge comes after them, not before.
            if unacked:
                await asyncio.wait(list(unacked), timeout=self.timeout_s)
            for future in unacked:
                future.cancel()
            await self._purge(subject)
            raise
        return StoredFile(file_id=file_id, size_bytes=size, sha256=digest.hexdigest())

    async def _purge(self, subject: str) -> None:
        """Drop an unfinished or forgotten file's chunks (logged when it cannot)."""
        try:
            await asyncio.shield(self.js.purge_stream(self.stream, subject=subject))
        except Exception as exc:  # the chunks stay unreferenced; the upload fails anyway
            log.warning("could not purge %s of %s: %s", subject, self.stream, type(exc).__name__)

    async def _direct_get(
        self, payload: dict[str, Any] | None, subject: str = ""
    ) -> Msg | StoredMessage | None:
        """One stored message (JetStream's direct get); None when there is none.

        Any replica answers a direct get, also one still behind the stream's leader (a chunk
        or a file's description acknowledged by a quorum may not have reached it yet). So a
        "none" is asked again of the leader (the stream's message get) before it is believed:
        a file just taken, or read while a node is gone, is never reported missing."""
        api_subject = f"$JS.API.DIRECT.GET.{self.stream}" + (f".{subject}" if subject else "")
        body = json.dumps(payload).encode() if payload is not None else b""
        try:
            msg = await self.nc.request(api_subject, body, timeout=self.timeout_s)
        except nats.errors.NoRespondersError:
            return await self._leader_get(payload, subject)
        status = (msg.headers or {}).get("Status")
        if status == "404":
            return await self._leader_get(payload, subject)
        if status:
            raise FileDamaged(f"the object store answered {status}")
        return msg

    async def _leader_get(
        self, payload: dict[str, Any] | None, subject: str
    ) -> StoredMessage | None:
        """The same ask of the stream's leader; None when it has no such message either."""
        try:
            if subject:  # the last message of this subject
                found = await self.js.get_msg(self.stream, subject=subject)
            else:  # the first message of `next_by_subj` at or after `seq`
                assert payload is not None
                found = await self.js.get_msg(
                    self.stream, seq=payload["seq"], subject=payload["next_by_subj"], next=True
                )
        except (nats.js.errors.NotFoundError, nats.errors.NoRespondersError):
            return None  # none (or no such stream: the bucket was never made)
        headers = {k: str(v) for k, v in (found.headers or {}).items()}
        headers["Nats-Sequence"] = str(found.seq)
        return StoredMessage(found.data or b"", headers)

    async def _info(self, file_id: str) -> api.ObjectInfo:
        if not isinstance(file_id, str) or not FILE_ID.fullmatch(file_id):
            raise FileMissing(file_id)
        msg = await self._direct_get(None, self._meta_subject(file_id))
        if msg is None:
            raise FileMissing(file_id)
        try:
            info: api.ObjectInfo = api.ObjectInfo.from_response(json.loads(msg.data))
        except (ValueError, TypeError, KeyError):
            raise FileMissing(file_id) from None
        if info.deleted or not info.nuid:
            raise FileMissing(file_id)
        return info

    async def stat(self, file_id: str) -> StoredFile:
        info = await self._info(file_id)
        return StoredFile(file_id, info.size or 0, _hex_digest(info.digest))

    async def exists(self, file_id: str) -> bool:
        try:
            await self._info(file_id)
        except FileMissing:
            return False
        return True

    async def open(self, file_id: str) -> FileReader:
        info = await self._info(file_id)
        return _ObjectReader(self, file_id, info)

    async def delete(self, file_id: str) -> None:
        try:
            info = await self._info(file_id)
        except FileMissing:
            return
        gone = api.ObjectInfo(
            name=file_id,
            bucket=self.bucket,
            nuid=info.nuid,
            size=0,
            chunks=0,
            digest="",
            deleted=True,
        )
        await self.js.publish(
            self._meta_subject(file_id),
            json.dumps(gone.as_dict()).encode(),
            headers={api.Header.ROLLUP: "sub"},
        )
        await self._purge(self._chunk_subject(info.nuid))


class _ObjectReader:
    """Chunks of one object in order, read with direct gets ("the first message of this
    subject at or after sequence n"), up to `window` asks in flight: once the first chunk's
    sequence is known, the asks go to every following sequence number, so each chunk is
    answered by at least one of them (the ask at its own number) and in order; an answer
    repeating a chunk already handed on (another object's message sat in between) is skipped.
    At most `window` chunks in memory, however big the file."""

    def __init__(
        self, files: ObjectStoreFiles, file_id: str, info: api.ObjectInfo, window: int = 8
    ) -> None:
        self._files = files
        self._file_id = file_id
        self._subject = files._chunk_subject(info.nuid)
        self._digest = _hex_digest(info.digest)
        self.size_bytes = info.size or 0
        self._window = max(1, window)
        self._asks: deque[asyncio.Task[Msg | StoredMessage | None]] = deque()

    def _ask(self, seq: int) -> asyncio.Task[Msg | StoredMessage | None]:
        payload = {"seq": seq, "next_by_subj": self._subject}
        return asyncio.ensure_future(self._files._direct_get(payload))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        digest, received, last, position = hashlib.sha256(), 0, 0, 1
        try:
            while received < self.size_bytes:
                if not self._asks:
                    self._asks.append(self._ask(position))
                msg = await self._asks.popleft()
                if msg is None:
                    break  # no chunk at or after this position: some are missing
                seq = int((msg.headers or {})["Nats-Sequence"])
                if last == 0:  # the first chunk: from here on, every sequence number
                    position = seq
                while len(self._asks) < self._window - 1:
                    position += 1
                    self._asks.append(self._ask(position))
                if seq <= last:
                    continue  # answered already by an earlier ask
                last = seq
                received += len(msg.data)
                digest.update(msg.data)
                yield msg.data
            if received != self.size_bytes or digest.hexdigest() != self._digest:
                raise FileDamaged(
                    f"file {self._file_id}: {received} of {self.size_bytes} bytes arrived "
                    "or its SHA-256 differs"
                )
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        asks, self._asks = list(self._asks), deque()
        for ask in asks:
            ask.cancel()
        for ask in asks:
            with contextlib.suppress(BaseException):
                await ask


async def open_file_store(
    nc: NATS,
    bucket: str,
    *,
    replicas: int = 1,
    chunk_bytes: int = CHUNK_BYTES,
    timeout_s: float = 5.0,
    wait_s: float = BUCKET_WAIT_S,
) -> ObjectStoreFiles:
    """The bucket as a `FileStore`, made when missing and its replicas raised to `replicas`
    (never lowered; safe from every process at once). A cluster still electing its leaders is
    waited for up to `wait_s`."""
    js = nc.jetstream(timeout=timeout_s)
    await when_ready(f"object store {bucket}", lambda: _ensure_bucket(js, bucket, replicas), wait_s)
    return ObjectStoreFiles(nc, bucket, chunk_bytes=chunk_bytes, timeout_s=timeout_s)


async def _ensure_bucket(js: JetStreamContext, bucket: str, replicas: int) -> None:
    stream = f"OBJ_{bucket}"
    try:
        current = (await js.stream_info(stream)).config
    except nats.js.errors.NotFoundError:
        try:
            await js.create_object_store(bucket, api.ObjectStoreConfig(replicas=max(1, replicas)))
            return
        except nats.js.errors.BadRequestError:  # another process made it in between
            current = await config_made_by_another(js, stream)
    if (current.num_replicas or 1) < replicas:
        current.num_replicas = replicas
        await js.update_stream(current)
