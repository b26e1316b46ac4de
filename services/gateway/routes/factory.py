"""HTTP routes made from service operations: one line per operation in the area modules.

`operation_route(Op(...))` builds a Litestar handler whose
- path parameters and (for GET/DELETE) query parameters are the request struct's fields,
- JSON body (POST/PUT/PATCH) is a copy of the request struct without the path fields and
  `idempotency_key`, with unknown fields forbidden at every level (strict.py; 400 naming the
  field),
- `Idempotency-Key` header becomes the request's `idempotency_key`,
- path parameters are matched as text and typed by the handler's signature, so a malformed one
  is a 400 naming it (not a 404 from the router),
- `opt["public_names"]` maps the handler's own names (`state_`, `idempotency_key`) to the
  names the OpenAPI document gives (`state`, `Idempotency-Key`) for error replies,
- guards say who may call it (auth.allow) and the OpenAPI description says so too,
- its OpenAPI operation lists the problem+json errors it can answer (openapi.error_responses),
and which sends the request with the caller's context and returns the service's reply.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, route
from litestar.handlers import HTTPRouteHandler
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter

from services.gateway.auth import allow, context_of
from services.gateway.openapi import documented_errors
from services.gateway.routes.strict import body_struct
from shared.contracts.common import Role

_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
RESERVED_KWARGS = frozenset(
    {"state", "request", "data", "headers", "cookies", "query", "scope", "socket", "body"}
)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=255,
        description="Repeat a request safely: the same key and body return the first result.",
    ),
]


@dataclass(frozen=True)
class Who:
    """Who may call a route: user roles, API-key scopes, or anyone."""

    roles: tuple[Role, ...] = ()
    scopes: tuple[str, ...] = ()
    public: bool = False

    def describe(self) -> str:
        if self.public:
            return "Who may call: anyone."
        parts = []
        if self.roles:
            parts.append("roles " + ", ".join(self.roles))
        if self.scopes:
            parts.append("API keys with scope " + " or ".join(self.scopes))
        return "Who may call: " + "; ".join(parts) + "."


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    subject: str
    request: type[msgspec.Struct]
    reply: Any
    who: Who
    summary: str
    status_code: int | None = None
    tags: Sequence[str] = ()
    description: str = ""
    # Transform the reply before it is returned (e.g. a calendar feed as text/calendar, a
    # link made absolute): `render(reply, request)`.
    render: Callable[[Any, Request[Any, Any, Any]], Any] | None = None
    response_type: Any = None
    media_type: str | None = None  # of the reply, when `render` gives another (text/csv)
    extra: dict[str, Any] = field(default_factory=dict)


def _fields(struct: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.name: f for f in msgspec.structs.fields(struct)}


def _default(info: msgspec.structs.FieldInfo) -> Any:
    if info.default is not msgspec.NODEFAULT:
        return info.default
    if info.default_factory is not msgspec.NODEFAULT:
        return info.default_factory()
    return inspect.Parameter.empty


def operation_route(op: Op) -> HTTPRouteHandler:
    method = op.method.upper()
    fields = _fields(op.request)
    path_names = _PATH_PARAM.findall(op.path)
    has_key = "idempotency_key" in fields
    params = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    for name in path_names:
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[fields[name].type, PathParameter()],
            )
        )
    body: type[msgspec.Struct] | None = None
    renamed: dict[str, str] = {}
    excluded = {*path_names, "idempotency_key"}
    if method in ("GET", "DELETE"):
        for name, info in fields.items():
            if name in excluded:
                continue
            python_name = f"{name}_" if name in RESERVED_KWARGS else name
            renamed[python_name] = name
            params.append(
                inspect.Parameter(
                    python_name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[info.type, QueryParameter(name=name)],
                    default=_default(info),
                )
            )
    else:
        body = body_struct(op.request, excluded)
        if body is not None:
            params.append(
                inspect.Parameter("data", inspect.Parameter.KEYWORD_ONLY, annotation=JSONBody[body])
            )
    public_names = {python: name for python, name in renamed.items() if python != name}
    if has_key:
        public_names["idempotency_key"] = "Idempotency-Key"
        params.append(
            inspect.Parameter(
                "idempotency_key",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=IdempotencyKey,
                default=None,
            )
        )
    reply_type = op.response_type if op.response_type is not None else op.reply
    request_type, subject, reply, render = op.request, op.subject, op.reply, op.render

    async def handler(**kwargs: Any) -> Any:
        http_request: Request[Any, Any, Any] = kwargs.pop("request")
        data = kwargs.pop("data", None)
        values: dict[str, Any] = {}
        if data is not None:
            values.update({name: getattr(data, name) for name in data.__struct_fields__})
        values.update({renamed.get(k, k): v for k, v in kwargs.items()})
        service_request = request_type(**values)
        result = await http_request.app.state.services.call(
            subject, service_request, reply, ctx=context_of(http_request)
        )
        return render(result, http_request) if render is not None else result

    handler.__name__ = handler.__qualname__ = subject.replace(".", "_")
    handler.__signature__ = inspect.Signature(params, return_annotation=reply_type)  # type: ignore[attr-defined]
    handler.__annotations__ = {p.name: p.annotation for p in params} | {"return": reply_type}
    description = "\n\n".join(
        part
        for part in (
            op.description or (op.request.__doc__ or "").strip(),
            op.who.describe(),
            f"Service operation: `{subject}`." + (" Accepts `Idempotency-Key`." if has_key else ""),
        )
        if part
    )
    default_status = 201 if method == "POST" else (204 if reply_type is None else 200)
    return route(
        _PATH_PARAM.sub(r"{\1:str}", op.path),
        http_method=[method],
        guards=allow(*op.who.roles, scopes=op.who.scopes, public=op.who.public),
        summary=op.summary,
        description=description,
        tags=list(op.tags),
        status_code=op.status_code or default_status,
        operation_id=op.extra.get("operation_id", subject.replace(".", "_")),
        **({"media_type": op.media_type} if op.media_type else {}),
        opt={"who": op.who, "subject": subject, "public_names": public_names},
        **documented_errors(public=op.who.public, method=method, also=op.extra.get("errors", ())),
    )(handler)


def text_media_type(media_type: str) -> str:
    """A text media type without its charset: Litestar adds `; charset=utf-8` to every
    `text/*` reply itself (given one, it answered `charset=utf-8; charset=utf-8`)."""
    return media_type.split(";", 1)[0].strip()


def text_response(
    media_type: str, attribute: str = "content", filename: str | None = None
) -> Callable[[Any, Request[Any, Any, Any]], Response[Any]]:
    """Render the text in a reply's `attribute` as another media type (text/calendar, CSV)."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename else {}

    def render(reply: Any, _: Request[Any, Any, Any]) -> Response[Any]:
        return Response(
            getattr(reply, attribute), media_type=text_media_type(media_type), headers=headers
        )

    return render


def absolute_url(request: Request[Any, Any, Any], link: str | None) -> str | None:
    """A link the services give relative to the gateway (`/pay/local/...`) made absolute from
    PUBLIC_URL (or the gateway's own address): clients get URLs they can follow as such."""
    if not link or not link.startswith("/") or link.startswith("//"):
        return link
    return request.app.state.gateway_settings.base_url + link


# Who may call (shared by the area modules).
ANYONE = Who(public=True)
RESIDENT = Who(roles=("resident",))
SIGNED_IN = Who(roles=("resident", "staff", "library_clerk", "gis_clerk", "finance", "admin"))
STAFF = Who(roles=("staff", "admin"))
LIBRARY = Who(roles=("library_clerk", "admin"), scopes=("library",))
GIS = Who(roles=("gis_clerk", "admin"), scopes=("gis",))
FINANCE = Who(roles=("finance", "admin"), scopes=("finance",))
ADMIN = Who(roles=("admin",))

Spec = tuple[str, str, str, str | None, str | None, Who, str]


def request_struct(module: Any, subject: str) -> type[msgspec.Struct] | None:
    """The request struct whose docstring names `subject` (the contracts' convention): one
    whose docstring starts with it first, as other docstrings may mention the operation."""
    named = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and f"`{subject}`" in (value.__doc__ or "")
    ]
    for value in named:
        if (value.__doc__ or "").lstrip().startswith(f"`{subject}`"):
            return value
    return named[0] if named else None


def ops_from(
    module: Any,
    service: str,
    specs: Sequence[Spec],
    errors: Mapping[str, tuple[int, ...]] | None = None,
    **options: Any,
) -> list[Op]:
    """Ops for the specs whose request and reply structs exist in `module` (the contracts
    grow while the services are built: a route appears when its operation does).

    Spec: (method, path, operation, request struct name, reply struct name, who, summary);
    a request name of None finds the struct by the subject in its docstring; a reply name of
    None passes the reply on as JSON. `errors` names the statuses an operation answers beyond
    everyone's (e.g. {"confirm": (410,)}) for its OpenAPI document.
    """
    ops = []
    for method, path, operation, request_name, reply_name, who, summary in specs:
        subject = f"{service}.v1.{operation}"
        request = (
            getattr(module, request_name, None) if request_name else request_struct(module, subject)
        )
        reply = getattr(module, reply_name, None) if reply_name else dict[str, Any]
        if request is None or reply is None:
            continue
        if any(name not in request.__struct_fields__ for name in _PATH_PARAM.findall(path)):
            continue  # the contract's shape differs from what this route expects
        extra = dict(options.get("extra", {}))
        if errors and operation in errors:
            extra["errors"] = errors[operation]
        kwargs = {**options, "extra": extra}
        ops.append(Op(method, path, subject, request, reply, who, summary, **kwargs))
    return ops
