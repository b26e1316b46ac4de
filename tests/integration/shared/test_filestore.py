"""The GIS file store in the NATS Object Store: content goes in and comes out in chunks (never
whole), byte for byte, under an id the store issued; ids it did not issue, removed files and
damaged ones are refused; the bucket is made once and its replicas never lowered."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NATS

from shared.filestore import (
    FileDamaged,
    FileMissing,
    ObjectStoreFiles,
    chunks_of,
    open_file_store,
    read_all,
)


@pytest.fixture
async def files(nc: NATS) -> AsyncIterator[ObjectStoreFiles]:
    bucket = f"test-files-{uuid.uuid4().hex[:8]}"
    store = await open_file_store(nc, bucket, chunk_bytes=64 * 1024)
    yield store
    await nc.jetstream().delete_object_store(bucket)


async def test_a_multi_chunk_file_comes_back_byte_for_byte_in_chunks(
    files: ObjectStoreFiles, nc: NATS
) -> None:
    content = os.urandom(3 * 1024 * 1024 + 12_345)  # 49 chunks of 64 kB, the last one short
    stored = await files.put(chunks_of(content, 100_000))  # arriving in other pieces
    assert stored.size_bytes == len(content)
    assert len(stored.file_id) == 32
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert await files.stat(stored.file_id) == stored
    reader = await files.open(stored.file_id)
    assert reader.size_bytes == len(content)
    chunks = [chunk async for chunk in reader]
    assert b"".join(chunks) == content
    assert len(chunks) == 49
    assert max(len(c) for c in chunks) == 64 * 1024  # never read whole
    # nats-py's own object store reads the same object (the standard layout)
    standard = await nc.jetstream().object_store(files.bucket)
    assert (await standard.get(stored.file_id)).data == content


async def test_files_uploaded_at_once_do_not_mix(files: ObjectStoreFiles) -> None:
    contents = [os.urandom(300_000 + i) for i in range(4)]
    stored = await asyncio.gather(*(files.put(chunks_of(c, 50_000)) for c in contents))
    for content, one in zip(contents, stored, strict=True):
        assert await read_all(files, one.file_id) == content


@pytest.mark.parametrize(
    "name", ["/etc/hostname", "../dev-issuer-key.pem", "a" * 32, "0" * 31, "", "$O.x.>"]
)
async def test_an_id_the_store_did_not_issue_is_missing(files: ObjectStoreFiles, name: str) -> None:
    with pytest.raises(FileMissing):
        await files.open(name)
    assert not await files.exists(name)


async def test_a_deleted_file_is_missing_and_its_chunks_are_gone(files: ObjectStoreFiles) -> None:
    stored = await files.put(chunks_of(b"map" * 50_000))
    await files.delete(stored.file_id)
    with pytest.raises(FileMissing):
        await files.open(stored.file_id)
    await files.delete(stored.file_id)  # twice: nothing
    state = (await files.js.stream_info(files.stream)).state
    assert state.messages == 1  # only the deletion marker


async def test_an_empty_file_is_stored_and_read(files: ObjectStoreFiles) -> None:
    stored = await files.put(chunks_of(b""))
    assert stored.size_bytes == 0
    assert await read_all(files, stored.file_id) == b""


async def test_a_file_whose_chunks_were_lost_is_damaged_not_served_short(
    files: ObjectStoreFiles,
) -> None:
    stored = await files.put(chunks_of(os.urandom(200_000)))
    info = await files._info(stored.file_id)
    await files.js.purge_stream(files.stream, subject=files._chunk_subject(info.nuid))
    with pytest.raises(FileDamaged):
        await read_all(files, stored.file_id)


async def test_a_failed_upload_leaves_no_chunks(files: ObjectStoreFiles) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(200_000)
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await files.put(broken())
    state = (await files.js.stream_info(files.stream)).state
    assert state.messages == 0


async def test_the_bucket_is_made_once_and_its_replicas_never_lowered(
    files: ObjectStoreFiles, nc: NATS
) -> None:
    stored = await files.put(chunks_of(b"kept"))
    again = await open_file_store(nc, files.bucket, replicas=1)
    assert await read_all(again, stored.file_id) == b"kept"
    config = (await files.js.stream_info(files.stream)).config
    assert config.num_replicas == 1
