"""Residents' pseudonyms in the log: keyed hashes whose key erasure forgets."""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(key: bytes, subject: str) -> str:
    """A resident's pseudonym in the log: HMAC-SHA256 under their own key. Erasure forgets
    the key, and the pseudonym then names nobody."""
    return "p:" + hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:40]


def key_ref(pepper: bytes, subject: str) -> str:
    """How a resident's key is found (again a keyed hash, never the subject itself)."""
    return hmac.new(pepper, b"key:" + subject.encode(), hashlib.sha256).hexdigest()
