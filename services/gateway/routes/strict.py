"""HTTP body types made from request contracts: the request without its path fields and
`idempotency_key`, unknown fields forbidden at every level (nested structs too)."""

from __future__ import annotations

import functools
import operator
import types
import typing
from typing import Annotated, Any

import msgspec


def _field_spec(info: msgspec.structs.FieldInfo, type_: Any) -> tuple[Any, ...]:
    if info.default is not msgspec.NODEFAULT:
        return (info.name, type_, msgspec.field(default=info.default, name=info.encode_name))
    if info.default_factory is not msgspec.NODEFAULT:
        return (
            info.name,
            type_,
            msgspec.field(default_factory=info.default_factory, name=info.encode_name),
        )
    return (info.name, type_, msgspec.field(name=info.encode_name))


def _copy_struct(
    struct: type[msgspec.Struct], name: str, fields: list[tuple[Any, ...]]
) -> type[msgspec.Struct]:
    cfg = struct.__struct_config__
    return msgspec.defstruct(
        name,
        fields,
        kw_only=True,
        frozen=cfg.frozen,
        forbid_unknown_fields=True,
        tag=cfg.tag,
        tag_field=cfg.tag_field,
        omit_defaults=cfg.omit_defaults,
        array_like=cfg.array_like,
        module=struct.__module__,
    )


def strict_type(type_: Any, _done: dict[type, Any] | None = None) -> Any:
    """`type_` with every Struct in it (nested in lists, unions, Annotated, ...) replaced by a
    copy that forbids unknown fields: a body's nested objects refuse unknown fields too."""
    done = {} if _done is None else _done
    if isinstance(type_, type) and issubclass(type_, msgspec.Struct):
        if type_ in done:
            return done[type_]
        done[type_] = type_  # a recursive reference stays as it is
        infos = msgspec.structs.fields(type_)
        strict = [(info, strict_type(info.type, done)) for info in infos]
        if type_.__struct_config__.forbid_unknown_fields and all(
            t is info.type for info, t in strict
        ):
            return type_
        copy = _copy_struct(type_, f"{type_.__name__}Body", [_field_spec(i, t) for i, t in strict])
        done[type_] = copy
        return copy
    origin = typing.get_origin(type_)
    if origin is None or origin is typing.Literal:
        return type_
    args = typing.get_args(type_)
    if origin is Annotated:
        inner = strict_type(args[0], done)
        return type_ if inner is args[0] else Annotated[(inner, *type_.__metadata__)]
    new_args = tuple(a if a is Ellipsis else strict_type(a, done) for a in args)
    if all(a is b for a, b in zip(new_args, args, strict=True)):
        return type_
    if origin in (typing.Union, types.UnionType):
        return functools.reduce(operator.or_, new_args)
    return origin[new_args]


def body_struct(request: type[msgspec.Struct], exclude: set[str]) -> type[msgspec.Struct] | None:
    """The HTTP body type of an operation: its request without `exclude`, unknown fields
    forbidden at every level (nested structs too). None when nothing is left."""
    done: dict[type, Any] = {}
    kept = [
        _field_spec(info, strict_type(info.type, done))
        for info in msgspec.structs.fields(request)
        if info.name not in exclude
    ]
    if not kept:
        return None
    return _copy_struct(request, f"{request.__name__}Body", kept)
