"""Every log line carries the trace id and the request id of the work it belongs to: from the
request context (shared.messaging's, which the responder, the consumers and the gateway set),
or from the current OpenTelemetry span while tracing is on. Lines outside any request have
none. Also: the gateway's metrics folder for several workers."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from services.gateway.metrics_dir import prepare
from shared import tracing
from shared.contracts.common import RequestContext
from shared.logging import JsonFormatter, RequestIds
from shared.messaging import current_context

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def record(message: str = "order paid") -> logging.LogRecord:
    return logging.LogRecord("svc", logging.INFO, __file__, 1, message, None, None)


def text_line(entry: logging.LogRecord) -> str:
    assert RequestIds().filter(entry)
    return logging.Formatter("%(message)s%(ids)s").format(entry)


def test_a_line_names_the_trace_and_the_request_it_belongs_to() -> None:
    token = current_context.set(RequestContext(request_id="req-123", traceparent=PARENT))
    try:
        assert text_line(record()) == f"order paid trace={TRACE} request=req-123"
        entry = record()
        RequestIds().filter(entry)
        as_json = json.loads(JsonFormatter().format(entry))
        assert (as_json["trace_id"], as_json["request_id"]) == (TRACE, "req-123")
    finally:
        current_context.reset(token)


def test_a_line_outside_any_request_has_no_ids() -> None:
    assert text_line(record()) == "order paid"
    entry = record()
    RequestIds().filter(entry)
    assert "trace_id" not in json.loads(JsonFormatter().format(entry))


def test_with_tracing_on_the_current_span_gives_the_trace() -> None:
    tracing.use(TracerProvider())
    try:
        token = current_context.set(RequestContext(request_id="req-9", traceparent=PARENT))
        try:
            with tracing.span("booking.v1.hold", tracing.SERVER, parent=PARENT) as span:
                assert span is not None
                line = text_line(record())
        finally:
            current_context.reset(token)
    finally:
        tracing.stop()
    assert line == f"order paid trace={TRACE} request=req-9"  # the span continues the trace


def test_configured_logging_adds_the_ids_to_every_handler_line(capsys) -> None:
    from shared.logging import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", "json", service="booking")
        token = current_context.set(RequestContext(request_id="req-7", traceparent=PARENT))
        try:
            logging.getLogger("services.booking").info("hold %s", "r-1")
        finally:
            current_context.reset(token)
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert (line["msg"], line["trace_id"], line["request_id"]) == ("hold r-1", TRACE, "req-7")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_several_gateway_workers_share_one_metrics_folder(tmp_path: Path) -> None:
    env = {"WORKERS": "1", "METRICS_PORT": "9100", "DATA_DIR": str(tmp_path)}
    assert prepare(env) is None  # one process: its own registry
    assert prepare({**env, "WORKERS": "2", "METRICS_PORT": "0"}) is None  # metrics off
    chosen = {**env, "WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "mine")}
    assert prepare(chosen) == str(tmp_path / "mine")  # the operator's folder
    made = {**env, "WORKERS": "2"}
    folder = prepare(made)
    assert folder is not None
    assert made["PROMETHEUS_MULTIPROC_DIR"] == folder
    assert Path(folder).is_dir()
    assert list(Path(folder).iterdir()) == []
