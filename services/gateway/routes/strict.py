"""Strict requests: HTTP body types made from request contracts (the request without its path
fields and `idempotency_key`, unknown fields forbidden at every level, nested structs too), and
query strings holding only the parameters a route declares."""

from __future__ import annotations

import difflib
import functools
import operator
import types
import typing
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import parse_qsl

import msgspec
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Scope

from services.gateway.errors import problem


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


# Per handler object (slotted: no weak references; a few hundred handlers per app).
_DECLARED_QUERY: dict[BaseRouteHandler, frozenset[str]] = {}


def declared_query(handler: BaseRouteHandler, path_params: Iterable[str]) -> frozenset[str]:
    """The query parameters `handler` declares (as Litestar resolves its signature, with its
    dependencies and layered parameters), worked out once per handler."""
    names = _DECLARED_QUERY.get(handler)
    if names is None:
        model = handler.create_kwargs_model(path_parameters=dict.fromkeys(path_params))  # type: ignore[arg-type]
        names = frozenset(p.field_alias for p in model.expected_query_params)
        _DECLARED_QUERY[handler] = names
    return names


def refuse_nul(scope: Scope) -> None:
    """400 for a NUL character in the path or the query string (`%00`): PostgreSQL cannot
    store it in text, and no name, id or parameter of ours holds one."""
    if "\x00" in scope.get("path", ""):
        raise problem(
            400,
            "validation_failed",
            "the path may not contain the NUL character",
            title="Invalid request",
            field="path",
            errors=[{"field": "path", "message": "NUL character", "source": "path"}],
        )
    query = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            raise problem(
                400,
                "validation_failed",
                f"query parameter `{name}` may not contain the NUL character",
                title="Invalid request",
                field=name,
                errors=[{"field": name, "message": "NUL character", "source": "query"}],
            )


def refuse_unknown_query(scope: Scope) -> None:
    """400 naming the first query parameter the route does not declare (`?limt=5` is a typo,
    not a wish to be ignored); tracking parameters (`utm_*`) are not API parameters either.
    A route may take every parameter of a family (`opt["query_prefixes"]`, e.g. a payment
    provider's signed `checkout-*` callback parameters, to which it may add new ones)."""
    handler = scope.get("route_handler")
    query = scope.get("query_string", b"")
    if handler is None or not query:
        return
    declared = declared_query(handler, scope.get("path_params", {}))
    family = tuple(handler.opt.get("query_prefixes", ()))
    given = dict.fromkeys(
        name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    )
    unknown = [name for name in given if name not in declared and not name.startswith(family)]
    if not unknown:
        return
    close = difflib.get_close_matches(unknown[0], sorted(declared), n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    accepted = ", ".join(sorted(declared)) or "none"
    errors = [
        {
            "field": name,
            "message": f"unknown query parameter `{name}`",
            "source": "query",
        }
        for name in unknown
    ]
    raise problem(
        400,
        "validation_failed",
        f"unknown query parameter `{unknown[0]}`{hint} (this route accepts: {accepted})",
        title="Invalid request",
        field=unknown[0],
        errors=errors,
    )
