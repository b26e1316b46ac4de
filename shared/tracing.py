"""OpenTelemetry traces: one trace from the HTTP request through NATS requests and JetStream
events to every SQL statement, exported over OTLP. Off by default.

On when the standard variables ask for it (and `OTEL_SDK_DISABLED` is not `true`):
`OTEL_TRACES_EXPORTER=otlp` (or `console`), or an OTLP endpoint
(`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). The exporter reads its
own `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, compression); `OTEL_SERVICE_NAME`
overrides the service name (`turku-<service>`); `OTEL_TRACES_SAMPLER` /
`OTEL_TRACES_SAMPLER_ARG` choose the sampler (parent-based, always on by default).

When off, nothing here creates a span: `span()` returns a null context at the cost of one
test, and the W3C `traceparent` header is still carried by `shared.messaging` (ids only).

Spans: the gateway's HTTP server span (opentelemetry-instrumentation-asgi), a CLIENT span per
NATS request and a SERVER span per request handled (shared/messaging.py), a PRODUCER span per
event the outbox relay publishes and a CONSUMER span per event applied (shared/events.py),
and a CLIENT span per SQL statement (opentelemetry-instrumentation-asyncpg, without the
statements' parameters). The context of an event is its `traceparent` header, so the saga's
spans share one trace and each hop is the child of the one that caused it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_tracer: Tracer | None = None  # None: tracing is off
_provider: Any = None
_sql: Any = None  # the asyncpg instrumentor while it is on


def wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the standard OTEL_* variables ask for traces."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter not in ("none", "")
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on for this process when the OTEL_* variables ask for it; True if on."""
    if not wanted(environ):
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    env = os.environ if environ is None else environ
    name = env.get("OTEL_SERVICE_NAME") or f"turku-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    kind = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    for one in (k.strip() for k in kind.split(",")):
        if one == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif one == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    use(provider)
    return True


def use(provider: Any) -> None:
    """Trace with `provider` (an SDK TracerProvider; tests give one with an in-memory
    exporter), SQL statements included."""
    global _tracer, _provider, _sql
    _provider = provider
    _tracer = provider.get_tracer("turku-city-services")
    if _sql is None:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        _sql = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
        _sql.instrument(tracer_provider=provider)


def stop() -> None:
    """Tracing off again (tests); flushes what the provider holds."""
    global _tracer, _provider, _sql
    if _sql is not None:
        _sql.uninstrument()
        _sql = None
    if _provider is not None:
        with contextlib.suppress(Exception):
            _provider.force_flush()
    _tracer = _provider = None


def shutdown() -> None:
    """Flush and stop the exporter at the end of the process."""
    if _provider is not None:
        with contextlib.suppress(Exception):
            _provider.shutdown()


def enabled() -> bool:
    return _tracer is not None


def provider() -> Any:
    """The provider in use (for the gateway's ASGI middleware), or None when off."""
    return _provider


def context_of(traceparent: str | None) -> otel_context.Context | None:
    """The OpenTelemetry context whose remote parent is `traceparent` (None if absent)."""
    if not traceparent:
        return None
    return _propagator.extract({"traceparent": traceparent})


def traceparent_of(span: Span | None = None) -> str | None:
    """The W3C traceparent of `span` (default: the current span), if it is a real one."""
    span = span if span is not None else trace.get_current_span()
    span_context = span.get_span_context()
    if not span_context.is_valid:
        return None
    flags = int(span_context.trace_flags)
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{flags:02x}"


def current_traceparent() -> str | None:
    """The traceparent of the current span while tracing is on (else None)."""
    if _tracer is None:
        return None
    return traceparent_of()


@contextlib.contextmanager
def span(
    name: str,
    kind: SpanKind,
    *,
    parent: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A current span named `name` (child of `parent`'s traceparent when given, else of the
    current span), or nothing when tracing is off."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(
        name,
        context=context_of(parent),
        kind=kind,
        attributes=dict(attributes or {}),
        record_exception=False,
        set_status_on_exception=True,
    ) as current:
        yield current


def start_span(
    name: str, kind: SpanKind, *, parent: str | None, attributes: Mapping[str, Any]
) -> Span | None:
    """A span that is not made current (e.g. one per event of a published batch)."""
    if _tracer is None:
        return None
    return _tracer.start_span(
        name, context=context_of(parent), kind=kind, attributes=dict(attributes)
    )


def fail(current: Span | None, outcome: str) -> None:
    """Mark `current` failed with the stable error `outcome` (never a message: no data)."""
    if current is not None and outcome != "ok":
        current.set_attribute("error.type", outcome)
        current.set_status(Status(StatusCode.ERROR, outcome))


def trace_id_of(traceparent: str | None) -> str:
    """The trace id in a traceparent ('' when there is none)."""
    if traceparent and len(traceparent) >= 35:
        return traceparent[3:35]
    return ""


SERVER, CLIENT, PRODUCER, CONSUMER = (
    SpanKind.SERVER,
    SpanKind.CLIENT,
    SpanKind.PRODUCER,
    SpanKind.CONSUMER,
)
