"""Ids derived from idempotency keys: a repeated create with the same key hits the same row."""

from __future__ import annotations

import uuid

from shared.contracts.common import Principal

_NS = uuid.UUID("0b5f3c1e-8d1a-5b8e-9f7a-7475726b7501")


def id_for(principal: Principal | None, kind: str, key: str | None) -> uuid.UUID:
    """A fresh id, or with a key the same id for the same principal, kind and key."""
    if not key:
        return uuid.uuid4()
    who = principal.subject if principal else "-"
    return uuid.uuid5(_NS, f"{kind}|{who}|{key}")
