"""Gateway settings (environment variables; see the README)."""

from __future__ import annotations

import msgspec


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # e.g. https://varaukset.turku.fi; default http://host:port
    workers: int = 1
    health_timeout_s: float = 1.0
    max_body_bytes: int = 1_048_576

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"
