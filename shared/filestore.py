"""Files kept by id: the one way the suite stores and reads files (GIS material).

A file is referred to by the id the store issued when it took the file, never by a path, so
no request can name a file the store did not take. `FileStore` is the interface; the
`LocalDirectoryStore` keeps files under one directory and reads only what resolves inside it
(no `..`, no absolute path, no symlink out). A NATS Object Store implementation can stand
behind the same interface: content moves in chunks, never read whole.

Secrets (signing keys, credentials) must never lie inside a directory files are served from:
`refuse_secrets_in_storage` is the start-up check of every process that serves files.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import stat
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.settings import SettingsError

CHUNK_BYTES = 256 * 1024
FILE_ID = re.compile(r"^[0-9a-f]{32}$")


class FileMissing(LookupError):
    """No file with this id can be read (never taken, removed, or not confined to the store)."""


@dataclass(frozen=True)
class StoredFile:
    """What the store knows of a file it took: its id, size and SHA-256."""

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

    async def exists(self, file_id: str) -> bool: ...


async def chunks_of(content: bytes, size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """Bytes already in memory (e.g. a decoded upload) as chunks for `FileStore.put`."""
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def read_all(store: FileStore, file_id: str) -> bytes:
    """The whole file (tests, small files only)."""
    reader = await store.open(file_id)
    try:
        return b"".join([chunk async for chunk in reader])
    finally:
        await reader.aclose()


class _LocalReader:
    def __init__(self, fd: int, size: int, chunk_bytes: int) -> None:
        self._fd: int | None = fd
        self.size_bytes = size
        self._chunk = chunk_bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while self._fd is not None:
                chunk = await asyncio.to_thread(os.read, self._fd, self._chunk)
                if not chunk:
                    break
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class LocalDirectoryStore:
    """Files under `root/files/<id[:2]>/<id>`; uploads land in `root/incoming` first.

    Every path read is resolved and must stay inside the root; the file itself is opened
    without following a symlink, and must be a regular file."""

    def __init__(self, root: str | Path, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.root = Path(root).resolve()
        self.chunk_bytes = chunk_bytes

    def _path(self, file_id: str) -> Path:
        if not isinstance(file_id, str) or not FILE_ID.fullmatch(file_id):
            raise FileMissing(file_id)
        return self.root / "files" / file_id[:2] / file_id

    def _confined(self, file_id: str) -> Path:
        path = self._path(file_id)
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise FileMissing(file_id) from None
        if resolved != path or not resolved.is_relative_to(self.root):
            raise FileMissing(file_id)  # a symlink somewhere on the way
        return path

    async def put(self, chunks: AsyncIterable[bytes]) -> StoredFile:
        file_id = uuid.uuid4().hex
        incoming = self.root / "incoming"
        target = self._path(file_id)
        await asyncio.to_thread(incoming.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        for folder in (incoming, target.parent):  # written only inside the root, too
            if folder.resolve() != folder:
                raise FileMissing(f"{folder.name} leads out of the file store")
        partial = incoming / f"{file_id}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(partial, flags, 0o640)
        digest, size = hashlib.sha256(), 0
        try:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    written = await asyncio.to_thread(os.write, fd, view)
                    view = view[written:]
            await asyncio.to_thread(os.fsync, fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
        os.close(fd)
        await asyncio.to_thread(os.replace, partial, target)
        return StoredFile(file_id=file_id, size_bytes=size, sha256=digest.hexdigest())

    async def open(self, file_id: str) -> FileReader:
        path = self._confined(file_id)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            raise FileMissing(file_id) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise FileMissing(file_id)
        return _LocalReader(fd, info.st_size, self.chunk_bytes)

    async def exists(self, file_id: str) -> bool:
        try:
            path = self._confined(file_id)
        except FileMissing:
            return False
        return path.is_file() and not path.is_symlink()


def secret_files(data_dir: str | Path, environ: dict[str, str] | None = None) -> list[Path]:
    """The secret files a process of this suite may be configured with: the development
    issuer's signing key (`DATA_DIR/dev-issuer-key.pem`), NATS credentials (`NATS_CREDS`) and
    systemd's credentials directory (`CREDENTIALS_DIRECTORY`)."""
    env = os.environ if environ is None else environ
    found = [Path(data_dir) / "dev-issuer-key.pem"]
    found += [Path(env[name]) for name in ("NATS_CREDS", "CREDENTIALS_DIRECTORY") if env.get(name)]
    return found


def _inside(path: str | Path, storage: str | Path) -> bool:
    """Is `path` inside `storage`, by the names as given or with symlinks resolved?"""
    plain, root = Path(path), Path(storage)
    return plain.resolve().is_relative_to(root.resolve()) or plain.absolute().is_relative_to(
        root.absolute()
    )


def refuse_secrets_in_storage(
    storage: str | Path, data_dir: str | Path, secrets: Iterable[Path]
) -> None:
    """Refuse to start (SettingsError naming them) when a secret file lies inside the storage
    directory files are served from, or the storage directory holds the data directory (the
    database, the NATS store, the development signing key)."""
    root = Path(storage).resolve()
    problems = [
        f"the secret file {secret} lies inside the file storage {root}"
        for secret in secrets
        if _inside(secret, storage)
    ]
    if _inside(data_dir, storage):
        problems.append(f"the file storage {root} holds the data directory {data_dir}")
    if problems:
        raise SettingsError("refused: " + "; ".join(problems) + "; store files elsewhere")
