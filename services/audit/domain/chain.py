"""The hash chain: each entry's hash is SHA-256 over the previous entry's hash and the
canonical JSON of its own content, so changing, removing or reordering any entry breaks every
hash after it (`verify`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = bytes(32)  # the "previous hash" of the first entry

# The columns an entry's hash covers, in this order (every column but the hash itself).
HASHED = (
    "seq",
    "entry_id",
    "recorded_at",
    "service",
    "action",
    "kind",
    "outcome",
    "actor",
    "actor_kind",
    "actor_roles",
    "object_type",
    "object_id",
    "person",
    "request_id",
    "client_address",
    "before",
    "after",
    "changes",
)


def canonical(content: Mapping[str, Any]) -> bytes:
    """The hashed form of an entry: its HASHED fields as sorted, compact JSON (timestamps in
    UTC ISO format with microseconds, ids as text)."""
    return json.dumps(
        {name: _plain(content.get(name)) for name in HASHED},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # uuid


def entry_hash(previous: bytes, content: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(previous + canonical(content)).digest()


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    last_seq: int | None
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(rows: Iterable[Mapping[str, Any]], previous: bytes = GENESIS) -> ChainCheck:
    """Walk `rows` (in seq order, each with HASHED fields, `prev_hash` and `hash`)."""
    checked = 0
    last: int | None = None
    expected_seq: int | None = None
    for row in rows:
        seq = int(row["seq"])
        if expected_seq is not None and seq != expected_seq:
            return ChainCheck(False, checked, last, seq, f"entry {expected_seq} is missing")
        if bytes(row["prev_hash"]) != previous:
            return ChainCheck(False, checked, last, seq, "does not follow the entry before it")
        if entry_hash(previous, row) != bytes(row["hash"]):
            return ChainCheck(False, checked, last, seq, "its content does not match its hash")
        previous = bytes(row["hash"])
        checked += 1
        last = seq
        expected_seq = seq + 1
    return ChainCheck(True, checked, last)
