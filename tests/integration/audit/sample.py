"""The smallest JSON value a msgspec type accepts (its constraints kept: lengths, bounds,
patterns), for calling every operation with a body the gateway lets through."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import msgspec.inspect as mi
from hypothesis import find
from hypothesis import strategies as st


@cache
def matching(pattern: str, min_length: int, max_length: int | None) -> str:
    """The simplest text `pattern` matches within the lengths (hypothesis shrinks to it)."""
    pattern = pattern.removeprefix("^").removesuffix("$").replace("(?![\\s\\S])", "")
    return find(
        st.from_regex(pattern, fullmatch=True),
        lambda s: len(s) >= min_length and (max_length is None or len(s) <= max_length),
    )


def sample(t: mi.Type) -> Any:
    if isinstance(t, mi.Metadata):
        return sample(t.type)
    if isinstance(t, mi.StructType):
        return {f.encode_name: sample(f.type) for f in t.fields if f.required}
    if isinstance(t, mi.UnionType):
        chosen = [x for x in t.types if not isinstance(x, mi.NoneType)]
        return sample(chosen[0]) if chosen else None
    if isinstance(t, mi.LiteralType):
        return t.values[0]
    if isinstance(t, mi.EnumType):
        return next(iter(t.cls)).value
    if isinstance(t, mi.StrType):
        low = t.min_length or 0
        if t.pattern:
            return matching(t.pattern, low, t.max_length)
        return "x" * max(low, 1) if (t.max_length is None or t.max_length >= 1) else ""
    if isinstance(t, mi.IntType):
        for bound in (t.ge, None if t.gt is None else t.gt + 1):
            if bound is not None:
                return max(bound, 1) if (t.le is None or t.le >= 1) else bound
        return 1 if (t.le is None or t.le >= 1) and (t.lt is None or t.lt > 1) else 0
    if isinstance(t, mi.FloatType):
        return 1.0
    if isinstance(t, mi.BoolType):
        return False
    if isinstance(t, mi.UUIDType):
        return str(uuid.uuid4())
    if isinstance(t, mi.DateTimeType):
        return (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    if isinstance(t, mi.DateType):
        return (date.today() + timedelta(days=3)).isoformat()
    if isinstance(t, mi.TimeType):
        return "10:00:00"
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return [sample(t.item_type) for _ in range(t.min_length or 0)]
    if isinstance(t, mi.TupleType):
        return [sample(x) for x in t.item_types]
    if isinstance(t, mi.DictType):
        return {}
    if isinstance(t, mi.BytesType | mi.ByteArrayType):
        return ""
    return None


def sample_of(cls: type) -> dict[str, Any]:
    value = sample(mi.type_info(cls))
    assert isinstance(value, dict)
    return value
