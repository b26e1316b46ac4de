"""NATS request-reply on top of nats-py's service API (`nats.micro`).

- `serve` registers a service's operations on `<service>.v1.<op>` in a queue group named after
  the service; each request runs in its own task (bounded), is decoded into its msgspec type,
  and every exception becomes the error envelope (`ErrorBody`), never a stack trace or a repr:
  the database being down, restarting or cut off is `unavailable` (503, retry), and a
  read-only operation whose connection was lost is run once more first.
- `Requester.call` sends a request with a timeout and the context headers (trace, request id,
  principal); no responders and timeouts become `Unavailable`, error replies become the
  `ServiceError` they encode.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
import nats.errors
from nats.aio.client import Client as NATS
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service

from shared import tracing
from shared.contracts.common import (
    H_CLIENT_ADDRESS,
    H_PRINCIPAL,
    H_REQUEST_ID,
    H_TRACEPARENT,
    Empty,
    Principal,
    RequestContext,
)
from shared.db import unavailable_from
from shared.errors import ErrorBody, ServiceError, Unavailable, ValidationFailed
from shared.metrics import (
    REQUEST_SECONDS,
    REQUEST_WAIT_SECONDS,
    REQUESTS_HANDLED,
    REQUESTS_IN_FLIGHT,
    REQUESTS_SENT,
    outcome_of,
)

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Rep = TypeVar("Rep")

ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"

current_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "current_context", default=None
)

_principal_decoder = msgspec.json.Decoder(Principal)
_error_decoder = msgspec.json.Decoder(ErrorBody)
_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def subject_for(service: str, operation: str) -> str:
    return f"{service}.v1.{operation}"


def new_request_id() -> str:
    return uuid.uuid4().hex


def new_traceparent() -> str:
    """A new trace and span id: random, not secret (as OpenTelemetry's own generator: a
    system call for the system's randomness on every request cost more than the rest of
    making its headers)."""
    return f"00-{_random_bits(128) or 1:032x}-{_random_bits(64) or 1:016x}-01"


_TRACEPARENT_RE = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_random_bits = random.getrandbits


def child_traceparent(parent: str | None) -> str:
    """Same trace, new span id (W3C trace context)."""
    if parent and _TRACEPARENT_RE.fullmatch(parent):
        version, trace_id, _, flags = parent.split("-")
        return f"{version}-{trace_id}-{_random_bits(64) or 1:016x}-{flags}"
    return new_traceparent()


def context_headers(ctx: RequestContext | None) -> dict[str, str]:
    headers = {H_REQUEST_ID: ctx.request_id if ctx and ctx.request_id else new_request_id()}
    # Tracing on: the current span (the caller's CLIENT span, or the handler whose event this
    # is) is the parent; off: a new span id of the same trace, as before.
    headers[H_TRACEPARENT] = tracing.current_traceparent() or child_traceparent(
        ctx.traceparent if ctx else None
    )
    if ctx and ctx.principal is not None:
        headers[H_PRINCIPAL] = encode(ctx.principal).decode()
    if ctx and ctx.client_address:
        headers[H_CLIENT_ADDRESS] = ctx.client_address
    return headers


def context_from_headers(headers: Mapping[str, str] | None) -> RequestContext:
    headers = headers or {}
    principal = None
    raw = headers.get(H_PRINCIPAL)
    if raw:
        try:
            principal = _principal_decoder.decode(raw)
        except msgspec.MsgspecError:
            log.warning("ignoring a malformed principal header")
    return RequestContext(
        principal=principal,
        request_id=headers.get(H_REQUEST_ID, "") or new_request_id(),
        traceparent=headers.get(H_TRACEPARENT),
        client_address=headers.get(H_CLIENT_ADDRESS) or None,
    )


_FIELD_RE = re.compile(r"`\$\.([^`]+)`")
_MISSING_RE = re.compile(r"(?:missing required|contains unknown) field `([^`]+)`")


def field_of(error: msgspec.ValidationError) -> str:
    """The dotted path of the field a msgspec validation error is about ('body' if none)."""
    text = str(error)
    path = _FIELD_RE.search(text)
    missing = _MISSING_RE.search(text)
    if path and missing:
        return f"{path.group(1)}.{missing.group(1)}"
    if path:
        return path.group(1)
    if missing:
        return missing.group(1)
    return "body"


def validation_error(error: msgspec.ValidationError) -> ValidationFailed:
    message = str(error).split(" - at ")[0]
    return ValidationFailed(message, field=field_of(error))


Handler = Callable[[Req, RequestContext], Awaitable[Any]]


@dataclass(frozen=True)
class Operation(Generic[Req]):
    """One request-reply operation of a service: `<service>.v1.<name>`. `read_only`: it
    changes nothing, so a database connection lost under it is tried once more."""

    name: str
    request: type[Req]
    handler: Handler[Req]
    read_only: bool = False


RETRY_PAUSE_S = 0.2  # before a read runs again: the pool drops the dead connection meanwhile


def decode_request(data: bytes, request_type: type[Req]) -> Req:
    try:
        if request_type is Empty and not data:
            return Empty()  # type: ignore[return-value]
        request = msgspec.json.decode(data or b"{}", type=request_type)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    except msgspec.DecodeError:
        raise ValidationFailed("the request body is not valid JSON", field="body") from None
    if b"\\u0000" in data:  # JSON can carry NUL only escaped; PostgreSQL text cannot store it
        where = nul_at(msgspec.to_builtins(request))
        if where is not None:
            raise ValidationFailed("text may not contain the NUL character (U+0000)", field=where)
    return request


def nul_at(value: Any, path: str = "") -> str | None:
    """The dotted path (`items[0].note`) of the first text holding a NUL character, if any."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return inner
            found = nul_at(item, inner)
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = nul_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


# Called after each operation, before its reply is sent: (operation, read_only, context,
# request or None, reply or None, error or None). The audit trail (shared/audit_trail.py).
AfterOperation = Callable[
    [str, bool, RequestContext, Any, Any, "ServiceError | None"], Awaitable[None]
]
# Called before each operation runs, once its request is decoded: (operation, read_only,
# context, request). The audit trail's write-ahead record of a change: if it raises, the
# operation does not run (no change without its record).
BeforeOperation = Callable[[str, bool, RequestContext, Any], Awaitable[None]]


class Responder:
    """Runs each request of a `nats.micro` endpoint in its own task, at most `limit` at once.
    `before`: called before each operation runs, `after`: after it, before the reply (the
    audit trail)."""

    def __init__(
        self,
        service: str,
        limit: int = 256,
        after: AfterOperation | None = None,
        before: BeforeOperation | None = None,
    ) -> None:
        self.service = service
        self.after = after
        self.before = before
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()
        # Read at each scrape (no cost per request): the requests running now.
        REQUESTS_IN_FLIGHT.labels(service).set_function(lambda: len(self._tasks))
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def endpoint(self, op: Operation[Any]) -> Callable[[Request], Awaitable[None]]:
        async def schedule(request: Request) -> None:
            await self._slots.acquire()  # back-pressure: wait when `limit` requests are running
            task = asyncio.create_task(self._run(op, request))
            self._tasks.add(task)
            task.add_done_callback(self._done)

        return schedule

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _run(self, op: Operation[Any], request: Request) -> None:
        started = time.perf_counter()
        ctx = context_from_headers(request.headers)
        if tracing.enabled():
            subject = subject_for(self.service, op.name)
            with tracing.span(
                subject, tracing.SERVER, parent=ctx.traceparent, attributes=_rpc(subject)
            ) as current:
                # the handler's calls and events are this span's children
                ctx = msgspec.structs.replace(ctx, traceparent=tracing.traceparent_of(current))
                outcome = await self._answer(op, request, ctx)
                tracing.fail(current, outcome)
        else:  # tracing off: no span, not even a null one
            outcome = await self._answer(op, request, ctx)
        handled, seconds = self._series(op.name, outcome)
        handled.inc()
        seconds.observe(time.perf_counter() - started)

    def _series(self, operation: str, outcome: str) -> tuple[Any, Any]:
        """The (counter, histogram) children of one operation and outcome, looked up once."""
        key = (operation, outcome)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = (
                REQUESTS_HANDLED.labels(self.service, operation, outcome),
                REQUEST_SECONDS.labels(self.service, operation, outcome),
            )
        return found

    async def _answer(self, op: Operation[Any], request: Request, ctx: RequestContext) -> str:
        """Reply to `request`; returns the outcome (`ok` or the error's code)."""
        token = current_context.set(ctx)
        reply_headers = {H_REQUEST_ID: ctx.request_id}
        incoming = (request.headers or {}).get(H_TRACEPARENT)
        if incoming:
            reply_headers[H_TRACEPARENT] = incoming  # the reply belongs to the same trace
        body: Any = None
        try:
            body = decode_request(request.data, op.request)
            if self.before is not None:
                await self.before(op.name, op.read_only, ctx, body)
            result = await self._handle(op, body, ctx)
            if self.after is not None:
                await self.after(op.name, op.read_only, ctx, body, result, None)
            await request.respond(encode(result), headers=reply_headers)
            return "ok"
        except ServiceError as exc:
            error = exc
        except Exception as exc:
            unavailable = unavailable_from(exc)
            if unavailable is None:
                log.exception(
                    "operation %s.%s failed (request %s)", self.service, op.name, ctx.request_id
                )
                error = ServiceError("internal error; the failure was logged")
            else:  # the database is restarting or unreachable: 503, try again
                log.warning(
                    "operation %s.%s: %s (request %s)",
                    self.service,
                    op.name,
                    unavailable.message,
                    ctx.request_id,
                )
                error = unavailable
        finally:
            current_context.reset(token)
        if self.after is not None:
            try:
                await self.after(op.name, op.read_only, ctx, body, None, error)
            except Exception:
                log.exception("after-operation hook of %s.%s failed", self.service, op.name)
        try:
            await request.respond_error(
                str(error.status), error.code, data=encode(error.to_body()), headers=reply_headers
            )
        except Exception:
            log.exception("could not send the error reply of %s.%s", self.service, op.name)
        return outcome_of(error)

    async def _handle(self, op: Operation[Any], body: Any, ctx: RequestContext) -> Any:
        """Run the handler; a read whose database connection was lost runs once more."""
        try:
            return await op.handler(body, ctx)
        except Exception as exc:
            if not op.read_only or unavailable_from(exc) is None:
                raise
            log.info(
                "operation %s.%s: %s; reading once more (request %s)",
                self.service,
                op.name,
                type(exc).__name__,
                ctx.request_id,
            )
        await asyncio.sleep(RETRY_PAUSE_S)
        return await op.handler(body, ctx)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait for running requests to finish (used when stopping)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


async def serve(
    nc: NATS,
    *,
    service: str,
    version: str,
    operations: list[Operation[Any]],
    limit: int = 256,
    description: str = "",
    after: AfterOperation | None = None,
    before: BeforeOperation | None = None,
) -> tuple[Service, Responder]:
    """Register `operations` of `service` in its queue group; returns the micro service."""
    svc = await add_service(
        nc, name=service, version=version, description=description, queue_group=service
    )
    group = svc.add_group(name=f"{service}.v1", queue_group=service)
    responder = Responder(service, limit, after, before)
    for op in operations:
        await group.add_endpoint(name=op.name, handler=responder.endpoint(op))
    await nc.flush()  # the subscriptions are known to the server when we return
    return svc, responder


class Requester:
    """Typed request-reply client with timeouts and context propagation."""

    def __init__(self, nc: NATS, timeout: float = 5.0) -> None:
        self.nc = nc
        self.timeout = timeout
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    async def call(
        self,
        subject: str,
        request: Any,
        reply_type: type[Rep],
        *,
        ctx: RequestContext | None = None,
        timeout: float | None = None,
    ) -> Rep:
        ctx = ctx if ctx is not None else current_context.get()
        started = time.perf_counter()
        outcome = "ok"
        try:
            if not tracing.enabled():
                return await self._request(subject, request, reply_type, ctx, timeout)
            with tracing.span(
                subject,
                tracing.CLIENT,
                parent=ctx.traceparent if ctx is not None else None,
                attributes=_rpc(subject),
            ) as current:
                try:
                    return await self._request(subject, request, reply_type, ctx, timeout)
                except ServiceError as exc:
                    tracing.fail(current, _outcome(exc))
                    raise
        except ServiceError as exc:
            outcome = _outcome(exc)
            raise
        except Exception:
            outcome = "internal"  # e.g. a reply that does not decode
            raise
        finally:
            sent, waited = self._series(subject, outcome)
            sent.inc()
            waited.observe(time.perf_counter() - started)

    def _series(self, subject: str, outcome: str) -> tuple[Any, Any]:
        """The (counter, histogram) children of one subject and outcome, looked up once."""
        key = (subject, outcome)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = (
                REQUESTS_SENT.labels(subject, outcome),
                REQUEST_WAIT_SECONDS.labels(subject),
            )
        return found

    async def _request(
        self,
        subject: str,
        request: Any,
        reply_type: type[Rep],
        ctx: RequestContext | None,
        timeout: float | None,
    ) -> Rep:
        headers = context_headers(ctx)
        try:
            msg = await self.nc.request(
                subject, encode(request), timeout=timeout or self.timeout, headers=headers
            )
        except nats.errors.NoRespondersError:
            raise TransportUnavailable(
                f"no service answers {subject}", subject=subject, transport="no_responders"
            ) from None
        except (nats.errors.TimeoutError, TimeoutError):
            raise TransportUnavailable(
                f"{subject} did not answer in time", subject=subject, transport="timeout"
            ) from None
        except nats.errors.ConnectionClosedError:
            raise TransportUnavailable(
                "the message bus connection is closed",
                subject=subject,
                transport="connection_closed",
            ) from None
        if msg.headers and ERROR_CODE_HEADER in msg.headers:
            raise error_from_reply(msg.data, msg.headers)
        return msgspec.json.decode(msg.data, type=reply_type)


class TransportUnavailable(Unavailable):
    """`unavailable` because of the message bus itself (kept apart in the metrics:
    `outcome` is `timeout`, `no_responders` or `connection_closed`)."""

    def __init__(self, message: str, *, subject: str, transport: str) -> None:
        super().__init__(message, subject=subject)
        self.transport = transport


def _outcome(error: ServiceError) -> str:
    """What a failed request counts as: the transport's trouble, or the replied error code."""
    return getattr(error, "transport", None) or outcome_of(error)


def _rpc(subject: str) -> dict[str, str]:
    service, _, operation = subject.partition(".v1.")
    return {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "rpc.system": "nats",
        "rpc.service": service,
        "rpc.method": operation,
    }


def error_from_reply(data: bytes, headers: Mapping[str, str]) -> ServiceError:
    try:
        return ServiceError.from_body(_error_decoder.decode(data), headers.get(ERROR_CODE_HEADER))
    except msgspec.MsgspecError:
        # An error reply not made by our responder (e.g. nats.micro's own on a crash).
        return ServiceError("the service failed", status=headers.get(ERROR_CODE_HEADER, ""))
