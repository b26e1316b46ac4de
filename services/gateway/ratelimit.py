"""Fixed-window rate limits shared by every gateway replica through a NATS KV bucket.

Each replica counts hits locally and folds them into the bucket every `sync_s` seconds with
compare-and-swap (`kv.create` for a new window, `kv.update(..., last=rev)` after); a lost race
reads the newer value and retries. A replica decides on `(shared count it last saw) + (its own
hits not yet folded in)`, so several replicas together overshoot a limit by at most the hits of
one sync interval, and a request never waits for the bucket except the first time a key is seen
in a window. If the bucket cannot be reached the limiter lets requests through (and logs it):
rate limiting must not take the city's services down.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from shared.jetstream import when_ready
from shared.runtime import every

log = logging.getLogger(__name__)


@dataclass
class _Window:
    shared: int = 0  # the bucket's count when we last read or wrote it
    revision: int | None = None  # the bucket revision of `shared` (None: key not created)
    pending: int = 0  # our hits not yet folded into the bucket


BUCKET_WAIT_S = 60.0  # how long a starting gateway waits for a cluster to elect its leaders


async def open_bucket(
    js: JetStreamContext, bucket: str, window_s: int, wait_s: float = BUCKET_WAIT_S
) -> KeyValue:
    """The limits' bucket, made when missing; a cluster still electing its leaders is waited
    for up to `wait_s` (a gateway started with its cluster used to exit on a timeout)."""

    async def attempt() -> KeyValue:
        try:
            return await js.key_value(bucket)
        except nats.js.errors.BucketNotFoundError:
            config = KeyValueConfig(bucket=bucket, ttl=window_s * 2, history=1)
            return await js.create_key_value(config)

    return await when_ready(f"rate-limit bucket {bucket}", attempt, wait_s)


class SharedRateLimiter:
    """`await limiter.hit(key, limit)` -> None (allowed) or seconds until the window ends;
    `peek` asks the same without counting, `record` counts without asking (failed sign-ins are
    counted when they fail, and checked before the next attempt is verified)."""

    def __init__(self, kv: KeyValue, window_s: int = 60, sync_s: float = 0.1) -> None:
        self.kv = kv
        self.window_s = window_s
        self.sync_s = sync_s
        self._windows: dict[str, _Window] = {}
        self._loading: dict[str, asyncio.Future[_Window]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        """Fold the counts into the bucket every `sync_s` seconds until `close()` (a failed
        round, e.g. while NATS is away, is logged and the next one tries again)."""
        sync = every(self.sync_s, self.sync, name="rate-limit sync", transient=(nats.errors.Error,))
        self._task = asyncio.create_task(sync(self._stop))

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:  # the round under way ends (cancelled if it hangs)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=max(1.0, 2 * self.sync_s))
        with contextlib.suppress(Exception):
            await self.sync()

    async def hit(self, key: str, limit: int) -> int | None:
        """Count a request of `key`: None (allowed), or seconds until its window ends when
        `key` already reached `limit` in this window (then it is not counted)."""
        return await self._check(key, limit, count=True)

    async def peek(self, key: str, limit: int) -> int | None:
        """Like `hit` without counting: is `key` over `limit` in this window?"""
        return await self._check(key, limit, count=False)

    async def record(self, key: str) -> None:
        """Count one event of `key` (e.g. a failed credential) without a limit of its own."""
        entry = await self._entry(self._window_of(key)[1])
        if entry is not None:
            entry.pending += 1

    def _window_of(self, key: str) -> tuple[int, str, float]:
        now = time.time()
        window = int(now // self.window_s)
        return window, f"w{window}.{hashlib.sha256(key.encode()).hexdigest()[:32]}", now

    async def _entry(self, name: str) -> _Window | None:
        entry = self._windows.get(name)
        if entry is not None:
            return entry
        try:
            return await self._load(name)
        except Exception as exc:  # the bucket is down: fail open
            log.warning("rate-limit bucket unreachable (%s); allowing", type(exc).__name__)
            return None

    async def _check(self, key: str, limit: int, *, count: bool) -> int | None:
        if limit <= 0:
            return None
        window, name, now = self._window_of(key)
        entry = await self._entry(name)
        if entry is None:
            return None
        if entry.shared + entry.pending >= limit:
            return max(1, int((window + 1) * self.window_s - now) + 1)
        if count:
            entry.pending += 1
        return None

    async def _load(self, name: str) -> _Window:
        loading = self._loading.get(name)
        if loading is not None:
            return await loading
        future: asyncio.Future[_Window] = asyncio.get_running_loop().create_future()
        self._loading[name] = future
        try:
            entry = self._windows.get(name) or await self._read(name)
            self._windows.setdefault(name, entry)
            future.set_result(self._windows[name])
            return self._windows[name]
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            del self._loading[name]

    async def _read(self, name: str) -> _Window:
        try:
            got = await self.kv.get(name)
        except nats.js.errors.KeyNotFoundError:
            return _Window()
        return _Window(shared=int(got.value or b"0"), revision=got.revision)

    async def sync(self) -> None:
        """Fold pending hits into the bucket; forget windows that are over."""
        current = int(time.time() // self.window_s)
        for name in list(self._windows):
            if int(name[1:].split(".", 1)[0]) < current:
                del self._windows[name]
        for name, entry in list(self._windows.items()):
            if entry.pending:
                await self._fold(name, entry)

    async def _fold(self, name: str, entry: _Window) -> None:
        for _ in range(10):
            adding = entry.pending
            try:
                if entry.revision is None:
                    entry.revision = await self.kv.create(name, str(adding).encode())
                    entry.shared = adding
                else:
                    value = str(entry.shared + adding).encode()
                    entry.revision = await self.kv.update(name, value, last=entry.revision)
                    entry.shared += adding
                entry.pending -= adding
                return
            except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.BadRequestError):
                latest = await self._read(name)  # another replica won the race
                entry.shared, entry.revision = latest.shared, latest.revision
        log.warning("rate-limit window %s still contended after 10 tries", name)
