"""Serving the gateway: `create_app` for granian, `main` for `python -m services.gateway`."""

from __future__ import annotations

from granian import Granian
from granian.constants import Interfaces
from litestar import Litestar

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.logging import configure_logging
from shared.settings import CommonSettings, from_env


def app_factory() -> Litestar:
    """What each granian worker runs: logging for this process, then the app."""
    common = from_env(CommonSettings)
    configure_logging(common.log_level, common.log_format, service="gateway")
    return create_app(common)


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
