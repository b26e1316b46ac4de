"""The local file store: ids it issued are the only names it answers to; nothing outside its
directory is ever read; content moves in chunks; secrets inside a storage path stop a start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.filestore import (
    FileMissing,
    LocalDirectoryStore,
    chunks_of,
    read_all,
    refuse_secrets_in_storage,
    secret_files,
)
from shared.settings import SettingsError


async def test_a_file_put_in_chunks_comes_back_byte_for_byte_in_chunks(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "gis", chunk_bytes=1000)
    content = os.urandom(10_500)
    stored = await store.put(chunks_of(content, 777))
    assert stored.size_bytes == len(content)
    assert len(stored.file_id) == 32
    assert await store.exists(stored.file_id)
    reader = await store.open(stored.file_id)
    assert reader.size_bytes == len(content)
    chunks = [chunk async for chunk in reader]
    assert b"".join(chunks) == content
    assert max(len(c) for c in chunks) == 1000  # never read whole
    assert not list((tmp_path / "gis" / "incoming").iterdir())  # nothing left half-written


@pytest.mark.parametrize(
    "name",
    [
        "/etc/hostname",
        "../dev-issuer-key.pem",
        "demo/../../../../etc/hostname",
        "0" * 31 + "/",
        "../" + "0" * 29,
        "A" * 32,
        "",
    ],
)
async def test_anything_but_an_issued_id_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "dev-issuer-key.pem").write_text("secret")
    store = LocalDirectoryStore(tmp_path / "gis")
    with pytest.raises(FileMissing):
        await store.open(name)
    assert not await store.exists(name)


async def test_symlinks_inside_the_store_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "dev-issuer-key.pem"
    secret.write_bytes(b"-----BEGIN PRIVATE KEY-----")
    store = LocalDirectoryStore(tmp_path / "gis")
    stored = await store.put(chunks_of(b"map"))
    path = store.root / "files" / stored.file_id[:2] / stored.file_id
    path.unlink()
    path.symlink_to(secret)  # the file itself
    with pytest.raises(FileMissing):
        await store.open(stored.file_id)
    other = await store.put(chunks_of(b"map"))
    folder = store.root / "files" / other.file_id[:2]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / other.file_id).write_bytes(b"-----BEGIN PRIVATE KEY-----")
    for entry in folder.iterdir():
        entry.unlink()
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)  # a folder on the way
    with pytest.raises(FileMissing):
        await store.open(other.file_id)
    assert await read_all(store, (await store.put(chunks_of(b"ok"))).file_id) == b"ok"
    incoming = store.root / "incoming"
    incoming.rmdir()
    incoming.symlink_to(outside, target_is_directory=True)  # uploads are not written out there
    with pytest.raises(FileMissing):
        await store.put(chunks_of(b"map"))
    assert sorted(p.name for p in outside.iterdir()) == [other.file_id]


def test_a_secret_inside_the_storage_or_the_data_dir_under_it_refuses_the_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    storage = data / "gis"
    refuse_secrets_in_storage(storage, data, secret_files(data, {}))  # the default layout
    with pytest.raises(SettingsError, match="holds the data directory"):
        refuse_secrets_in_storage(data, data, [])
    with pytest.raises(SettingsError, match="dev-issuer-key"):
        refuse_secrets_in_storage(data, tmp_path / "other", secret_files(data, {}))
    creds = storage / "nats" / "cart.creds"
    with pytest.raises(SettingsError, match=r"cart\.creds"):
        refuse_secrets_in_storage(storage, data, secret_files(data, {"NATS_CREDS": str(creds)}))
    link = tmp_path / "served"
    link.symlink_to(storage, target_is_directory=True)  # the storage named through a symlink
    storage.mkdir(parents=True)
    with pytest.raises(SettingsError, match=r"cart\.creds"):
        refuse_secrets_in_storage(link, data, [creds])
