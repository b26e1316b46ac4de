"""HTTP routes of service operations, each declared with its request and reply classes.

    OperationRoute("POST", "/holds", "booking.v1.hold", HoldRequest, HoldReply, BOOKERS,
                   "Hold one or several resources (15 minutes, priced)")

is checked when it is declared (at import): the request and reply must be msgspec Structs and
every path parameter a field of the request, or `RouteDeclarationError` names the route. Its
`handler()` is the Litestar route handler, whose
- path parameters and (for GET/DELETE) query parameters are the request's fields,
- JSON body (POST/PUT/PATCH) is a copy of the request without the path fields and
  `idempotency_key`, with unknown fields forbidden at every level (strict.py; 400 naming the
  field),
- `Idempotency-Key` header becomes the request's `idempotency_key`,
- path parameters are matched as text and typed by the handler's signature, so a malformed one
  is a 400 naming it (not a 404 from the router),
- `opt["public_names"]` maps the handler's own names (`state_`, `idempotency_key`) to the
  names the OpenAPI document gives (`state`, `Idempotency-Key`) for error replies,
- guards say who may call it (`Who`) and the OpenAPI description says so too,
- OpenAPI operation lists the problem+json errors it can answer (openapi.documented_errors),
- `opt["call"]` is its typed client (`Call`), which tests compare with the service's contract,
and which sends the request with the caller's context and returns the service's reply (or what
`render` makes of it: a calendar as text/calendar, a link made absolute).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from litestar import Request, route
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body, HeaderParameter, PathParameter, QueryParameter

from services.gateway.clients import Call
from services.gateway.openapi import documented_errors
from services.gateway.routes.strict import body_struct
from services.gateway.routes.who import Who

Req = TypeVar("Req", bound=msgspec.Struct)
Rep = TypeVar("Rep", bound=msgspec.Struct)
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
HttpRequest = Request[Any, Any, Any]

PATH_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")
SUBJECT = re.compile(r"[a-z]+\.v1\.[a-z_]+")
# Names Litestar gives a meaning of its own as handler arguments: query parameters so named
# get another argument name (`state_`), and errors name them as the document does.
RESERVED_KWARGS = frozenset(
    {"state", "request", "data", "headers", "cookies", "query", "scope", "socket", "body"}
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=255,
        description="Repeat a request safely: the same key and body return the first result.",
    ),
]


JSON_BODY = Body(media_type=RequestEncodingType.JSON)  # as litestar.params.JSONBody


class RouteDeclarationError(TypeError):
    """A route declared with a type that is missing or does not fit its path."""


@dataclass(frozen=True)
class OperationRoute(Generic[Req, Rep]):
    """`method path` calls `subject` with a `request` and answers its `reply` (or what
    `render` makes of it, documented as `response_type` in `media_type`)."""

    method: Method
    path: str
    subject: str
    request: type[Req]
    reply: type[Rep]
    who: Who
    summary: str
    _: KW_ONLY
    status_code: int | None = None  # 201 for POST, 200 otherwise
    errors: tuple[int, ...] = ()  # statuses beyond every route's (openapi.error_statuses)
    operation_id: str | None = None  # the subject with underscores
    description: str = ""  # the request's docstring
    render: Callable[[Rep, HttpRequest], object] | None = None
    response_type: object = None  # of `render`'s result, when it is not the reply
    media_type: str | None = None  # of `render`'s result, when it is not JSON

    def __post_init__(self) -> None:
        where = f"{self.method} {self.path} ({self.subject})"
        if not SUBJECT.fullmatch(self.subject):
            raise RouteDeclarationError(f"{where}: the subject is not <service>.v1.<operation>")
        for role, type_ in (("request", self.request), ("reply", self.reply)):
            if not (isinstance(type_, type) and issubclass(type_, msgspec.Struct)):
                raise RouteDeclarationError(
                    f"{where}: the {role} type must be a msgspec Struct class, not {type_!r}"
                )
        fields = self.request.__struct_fields__
        for name in PATH_PARAMETER.findall(self.path):
            if name not in fields:
                raise RouteDeclarationError(
                    f"{where}: path parameter {name!r} is not a field of "
                    f"{self.request.__name__} ({', '.join(fields)})"
                )
        if self.response_type is not None and self.render is None:
            raise RouteDeclarationError(f"{where}: a response_type needs a render")

    @property
    def call(self) -> Call[Req, Rep]:
        return Call(self.subject, self.request, self.reply)

    def handler(self) -> HTTPRouteHandler:
        """The Litestar route handler (a new one for each app)."""
        params, renamed, public_names = self._parameters()
        reply_type = self.response_type if self.response_type is not None else self.reply
        call, request_type, render = self.call, self.request, self.render
        takes_no_body = self.method not in ("GET", "DELETE") and not any(
            p.name == "data" for p in params
        )

        async def handler(**kwargs: Any) -> object:
            http_request: HttpRequest = kwargs.pop("request")
            data = kwargs.pop("data", None)
            values: dict[str, Any] = {}
            if data is not None:
                strictly(await http_request.body(), type(data))
            elif takes_no_body:
                nothing_sent(await http_request.body())
            if data is not None:
                values.update({name: getattr(data, name) for name in data.__struct_fields__})
            values.update({renamed.get(k, k): v for k, v in kwargs.items()})
            reply = await call(http_request, request_type(**values))
            return render(reply, http_request) if render is not None else reply

        handler.__name__ = handler.__qualname__ = self.subject.replace(".", "_")
        handler.__signature__ = inspect.Signature(params, return_annotation=reply_type)  # type: ignore[attr-defined]
        handler.__annotations__ = {p.name: p.annotation for p in params} | {"return": reply_type}
        return route(
            PATH_PARAMETER.sub(r"{\1:str}", self.path),
            http_method=[self.method],
            guards=self.who.guards(),
            summary=self.summary,
            description=self._description(),
            status_code=self.status_code or (201 if self.method == "POST" else 200),
            operation_id=self.operation_id or self.subject.replace(".", "_"),
            opt={
                "who": self.who,
                "subject": self.subject,
                "call": call,
                "public_names": public_names,
            },
            media_type=self.media_type,
            **documented_errors(public=self.who.public, method=self.method, also=self.errors),
        )(handler)

    def _parameters(self) -> tuple[list[inspect.Parameter], dict[str, str], dict[str, str]]:
        """The handler's parameters; which handler argument is which request field; the
        public name of each argument named otherwise in the OpenAPI document."""
        fields = {f.name: f for f in msgspec.structs.fields(self.request)}
        path_names = PATH_PARAMETER.findall(self.path)
        params = [_keyword("request", Request)]
        params += [_keyword(n, _annotated(fields[n].type, PathParameter())) for n in path_names]
        renamed: dict[str, str] = {}  # handler argument -> request field
        excluded = {*path_names, "idempotency_key"}
        if self.method in ("GET", "DELETE"):
            for name, info in fields.items():
                if name in excluded:
                    continue
                argument = f"{name}_" if name in RESERVED_KWARGS else name
                renamed[argument] = name
                query = _annotated(info.type, QueryParameter(name=name))
                params.append(_keyword(argument, query, _default(info)))
        else:
            body = body_struct(self.request, excluded)
            if body is not None:
                params.append(_keyword("data", _annotated(body, JSON_BODY)))
        public_names = {argument: name for argument, name in renamed.items() if argument != name}
        if "idempotency_key" in fields:
            public_names["idempotency_key"] = "Idempotency-Key"
            params.append(_keyword("idempotency_key", IdempotencyKey, None))
        return params, renamed, public_names

    def _description(self) -> str:
        """The request's docstring (or `description`), who may call, the operation."""
        has_key = "idempotency_key" in self.request.__struct_fields__
        return "\n\n".join(
            part
            for part in (
                self.description or (self.request.__doc__ or "").strip(),
                self.who.describe(),
                f"Service operation: `{self.subject}`."
                + (" Accepts `Idempotency-Key`." if has_key else ""),
            )
            if part
        )


def call_opt(call: Call[Any, Any], who: Who) -> dict[str, Any]:
    """`opt` of a hand-written route that calls `call`: who may call it and its typed client
    (for the tests that check every route's guards and contract)."""
    return {"who": who, "subject": call.subject, "call": call}


def _annotated(type_: Any, marker: object) -> Any:
    """`Annotated[type_, marker]` of a type known only when the route is made."""
    return Annotated[type_, marker]


def _keyword(
    name: str, annotation: Any, default: Any = inspect.Parameter.empty
) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _default(info: msgspec.structs.FieldInfo) -> Any:
    if info.default is not msgspec.NODEFAULT:
        return info.default
    if info.default_factory is not msgspec.NODEFAULT:
        return info.default_factory()
    return inspect.Parameter.empty


def strictly(body: bytes, body_type: type[Any]) -> None:
    """A JSON body as the OpenAPI document declares it: Litestar converts leniently (`"100"`
    for an integer, a number of seconds for a date-time); refused here, naming the field."""
    try:
        msgspec.json.decode(body, type=body_type)
    except msgspec.ValidationError as exc:
        error = {"message": str(exc), "key": "data", "source": "body"}
        raise ValidationException(extra=[error]) from None


def nothing_sent(body: bytes) -> None:
    """An operation without a body refuses one with fields (as a body with a field too many
    is refused elsewhere), rather than ignoring what the caller meant to say; none, or `{}`,
    is fine."""
    try:
        sent = msgspec.json.decode(body) if body.strip() else None
    except (msgspec.DecodeError, RecursionError):  # not JSON, or nested past all reason
        sent = "not JSON"
    if sent in (None, {}):
        return
    field = next(iter(sent)) if isinstance(sent, dict) else ""
    message = (
        f"this operation takes no body: unknown field `{field}`"
        if field
        else "this operation takes no body"
    )
    raise ValidationException(extra=[{"message": message, "key": "data", "source": "body"}])
