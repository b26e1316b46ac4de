"""The gateway's `Request`: a body the client got wrong is a 400 naming the field, never a 500.

- msgspec decodes JSON recursively and raises `RecursionError` (not a `DecodeError`) past about
  a thousand levels of nesting (`[[[[...`, closed or not), which Litestar would pass on as an
  unhandled error (a 500 and a stack trace in the log). Every request contract is typed and a
  few levels deep, so such a body is the client's mistake: 400, field `body`.
- PostgreSQL cannot store U+0000 in text: a NUL in a JSON string or a form value would fail
  deep inside a service. It is refused here, naming the field.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict

from services.gateway.errors import problem

NUL = "\x00"


def invalid(field: str, message: str, source: str = "body") -> Exception:
    return problem(
        400,
        "validation_failed",
        message,
        title="Invalid request",
        field=field,
        errors=[{"field": field, "message": message, "source": source}],
    )


def nul_at(value: Any) -> str | None:
    """The path (`items[0].note`) of the first string in `value` holding a NUL, if any
    (iterative: the value may nest as deep as the decoder allows)."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return path or "body"
        elif isinstance(item, dict):
            for key, inner in reversed(item.items()):
                here = f"{path}.{key}" if path else str(key)
                if NUL in str(key):
                    return here
                pending.append((here, inner))
        elif isinstance(item, list):
            pending.extend((f"{path}[{n}]", inner) for n, inner in reversed(list(enumerate(item))))
    return None


class GatewayRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise invalid("body", "the JSON body is nested too deeply") from None
        if b"\\u0000" in await self.body():  # only then is a NUL possible: walk to name it
            field = nul_at(value)
            if field is not None:
                raise invalid(field, "text may not contain the NUL character (\\u0000)")
        return value

    async def form(self) -> FormMultiDict:
        form = await super().form()
        for key, value in form.multi_items():
            if NUL in key or (isinstance(value, str) and NUL in value):
                raise invalid(key, "text may not contain the NUL character", "form")
        return form
