"""Serving the gateway: `create_app` for granian, `main` for `python -m services.gateway`.

Each worker also serves `/metrics` on `METRICS_PORT` (its own port, never the public one:
with several workers one of them holds it and serves the sum of all, see
`services/gateway/metrics_dir.py`) and, when the OTEL_* variables ask for traces, wraps the
app in OpenTelemetry's ASGI middleware: the HTTP server span is the root of what a request
causes in the services.
"""

from __future__ import annotations

from typing import Any

from granian import Granian
from granian.constants import Interfaces

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared import metrics, tracing
from shared.logging import configure_logging
from shared.settings import CommonSettings, from_env


def traced(app: Any) -> Any:
    """`app` inside the ASGI server span when tracing is on (the app itself otherwise)."""
    if not tracing.enabled():
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(
        app,
        tracer_provider=tracing.provider(),
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
    )


def app_factory() -> Any:
    """What each granian worker runs: logging, metrics and tracing for this process, then
    the app."""
    common = from_env(CommonSettings)
    configure_logging(common.log_level, common.log_format, service="gateway")
    tracing.configure_tracing("gateway")
    metrics.start_server(common.metrics_port, common.metrics_host)
    return traced(create_app(common))


def main() -> None:
    common = from_env(CommonSettings)
    gateway = from_env(GatewaySettings)
    configure_logging(common.log_level, common.log_format, service="gateway")
    Granian(
        "services.gateway.asgi:app_factory",
        factory=True,
        interface=Interfaces.ASGI,
        address=gateway.host,
        port=gateway.port,
        workers=gateway.workers,
        log_access=False,
    ).serve()
