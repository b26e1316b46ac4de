"""The PIN lock-out in front of the library's card check: per card and per client address,
counted in the cart's database (shared by replicas), so guessing never reaches the library
faster than the settings allow and the library sees no storm of failed sign-ins."""

from __future__ import annotations

import math
from dataclasses import dataclass

import asyncpg

from services.cart.domain.library import (
    FORGET_PIN_ATTEMPTS_AFTER,
    PinAttemptKind,
    PinAttempts,
    admit_pin_attempt,
    attempt_key,
)
from services.cart.library import pin_store
from services.cart.settings import CartSettings
from shared.errors import RateLimited


@dataclass(frozen=True)
class Counted:
    kind: PinAttemptKind
    key: str
    limit: int
    after: PinAttempts
    locks: bool  # this attempt set a lock-out (lifted again if it succeeds)
    locked_for_s: float = 0.0

    @property
    def attempts_left(self) -> int:
        return max(self.limit - self.after.failures, 0)


@dataclass(frozen=True)
class AdmittedAttempt:
    """One PIN attempt let through to the library, counted as failed until it succeeds."""

    counted: tuple[Counted, ...]

    @property
    def attempts_left(self) -> int:
        return min((c.attempts_left for c in self.counted if c.limit > 0), default=0)

    @property
    def locked_for_s(self) -> float:
        """How long a wrong PIN now locks the card or address out (0: not yet)."""
        return max((c.locked_for_s for c in self.counted), default=0.0)


def minutes(seconds: float) -> int:
    return max(math.ceil(seconds / 60), 1)


class PinLockout:
    def __init__(self, pool: asyncpg.Pool, settings: CartSettings) -> None:
        self.pool = pool
        self.settings = settings

    def _subjects(self, card: str, address: str | None) -> list[tuple[PinAttemptKind, str, int]]:
        s = self.settings
        subjects: list[tuple[PinAttemptKind, str, int]] = [
            ("card", attempt_key("card", card), s.library_pin_failures_per_card)
        ]
        if address:
            subjects.append(
                ("address", attempt_key("address", address), s.library_pin_failures_per_address)
            )
        return subjects

    async def admit(self, card: str, address: str | None) -> AdmittedAttempt:
        """Count one attempt for the card and the address, or refuse it (RateLimited with the
        wait) while either is locked out; nothing is asked of the library then."""
        async with self.pool.acquire() as conn, conn.transaction():
            counted = [
                await self._count(conn, kind, key, limit)
                for kind, key, limit in self._subjects(card, address)  # card, then address
            ]
        return AdmittedAttempt(tuple(counted))

    async def _count(
        self, conn: asyncpg.Connection, kind: PinAttemptKind, key: str, limit: int
    ) -> Counted:
        s = self.settings
        before, updated_at, now = await pin_store.pin_attempts(conn, kind, key)
        admission = admit_pin_attempt(
            before, updated_at, now, limit, s.library_pin_lock_s, s.library_pin_lock_max_s
        )
        if not admission.admitted:
            wait = math.ceil(admission.retry_after_s)
            n = minutes(wait)
            raise RateLimited(
                f"too many wrong PINs; try again in {n} minute{'' if n == 1 else 's'}",
                field="pin",
                retry_after=wait,
            )
        after = admission.after
        await pin_store.set_pin_attempts(
            conn, kind, key, after.failures, after.lockouts, after.locked_until
        )
        locked_for = (after.locked_until - now).total_seconds() if after.locked_until else 0.0
        return Counted(kind, key, limit, after, admission.locks, locked_for)

    async def succeeded(self, attempt: AdmittedAttempt) -> None:
        """The right PIN: the card starts afresh; the address only loses this attempt (one
        valid card of one's own must not wipe out guesses at others')."""
        async with self.pool.acquire() as conn, conn.transaction():
            for c in attempt.counted:
                if c.kind == "card":
                    await pin_store.forget_pin_attempts(conn, c.kind, c.key)
                else:
                    await pin_store.undo_pin_attempt(conn, c.kind, c.key, c.locks)

    async def not_checked(self, attempt: AdmittedAttempt) -> None:
        """The library did not answer whether the PIN was right: the attempt does not count."""
        async with self.pool.acquire() as conn, conn.transaction():
            for c in attempt.counted:
                await pin_store.undo_pin_attempt(conn, c.kind, c.key, c.locks)

    async def purge(self) -> int:
        async with self.pool.acquire() as conn:
            return await pin_store.purge_pin_attempts(
                conn, FORGET_PIN_ATTEMPTS_AFTER.total_seconds()
            )
