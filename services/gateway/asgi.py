"""Serving the gateway: `create_app` for granian, `main` for `python -m services.gateway`."""

from __future__ import annotations

from granian import Granian
from granian.constants import Interfaces

from services.gateway.settings import GatewaySettings
from shared.logging import configure_logging
from shared.settings import CommonSettings, from_env


def main() -> None:
    common = from_env(CommonSettings)
    gateway = from_env(GatewaySettings)
    configure_logging(common.log_level, common.log_format, service="gateway")
    Granian(
        "services.gateway.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=gateway.host,
        port=gateway.port,
        workers=gateway.workers,
        log_access=False,
    ).serve()
