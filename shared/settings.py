"""Settings from the environment, one msgspec Struct per concern.

Field `foo_bar` of a settings Struct is read from `PREFIX` + `FOO_BAR`. Values are converted
with msgspec (so `HOLD_MINUTES=20` becomes an int) and a wrong value names its variable.
Nothing is read at import: each process builds its settings in its composition root.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)

Environment = Literal["development", "test", "production"]


class SettingsError(ValueError):
    """A variable has a value that cannot be used; the message names the variable."""


def from_env(cls: type[S], environ: Mapping[str, str] | None = None, prefix: str = "") -> S:
    """Build settings `cls` from environment variables `PREFIX + FIELD_NAME` (upper case)."""
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for name in cls.__struct_fields__:
        key = f"{prefix}{name}".upper()
        if key in env and env[key] != "":
            raw[name] = env[key]
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        path = str(exc).rsplit("$.", 1)[-1].rstrip("`")
        raise SettingsError(f"{prefix}{path}".upper() + f": {exc}") from exc


class CommonSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every process needs: where the servers are and in which environment it runs."""

    env: Environment = "development"
    database_url: str | None = None  # None: the launcher's embedded PostgreSQL
    nats_url: str | None = None  # None: the launcher's embedded NATS server
    data_dir: str = ".data"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    request_timeout_s: float = 5.0
    max_concurrent_requests: int = 256
    events_replicas: int = 1  # of the EVENTS stream (3 on a NATS cluster); never lowered
    # Observability and housekeeping (shared/metrics.py, shared/retention.py, shared/runtime.py)
    metrics_port: int = 0  # /metrics of this process on its own port; 0 = off
    metrics_host: str = "127.0.0.1"  # where that port listens (never the public address)
    metrics_interval_s: float = 15.0  # how often the SQL gauges are computed (not per scrape)
    purge_interval_s: float = 600.0  # how often old bookkeeping rows are purged; 0 = never
    stop_timeout_s: float = 20.0  # on SIGTERM: longest wait for in-flight work to finish
    # Longest wait of an idle consumer's pull (an event arriving ends it at once); a stopping
    # service waits for it, so the tests, which start and stop services often, set it lower.
    consumer_fetch_s: float = 0.5
    # Deployment (deploy/): false when a migration job (`python -m services.migrate`) applies
    # the schema once before the services start; a service then only checks nothing is pending.
    migrate_at_start: bool = True
    # A process serving only NATS writes a heartbeat here for its probes (shared/probe.py);
    # "" = off. The gateway is probed over HTTP (/health, /ready) instead.
    health_file: str = ""
    health_interval_s: float = 5.0
    # GIS files (shared/filestore.py): the NATS Object Store bucket the gateway streams uploads
    # into and downloads out of, and cart checks; its replicas (3 on a NATS cluster; never
    # lowered) and the size of its chunks (below the server's max_payload, 1 MB by default).
    gis_files_bucket: str = "gis-files"
    gis_files_replicas: int = 1
    gis_files_chunk_bytes: int = 128 * 1024

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def refuse_in_production(common: CommonSettings, problems: list[str]) -> None:
    """Raise when a production configuration still carries development-only values."""
    if common.is_production and problems:
        raise SettingsError("refused in production: " + "; ".join(problems))


def gateway_url(environ: Mapping[str, str] | None = None) -> str:
    """The gateway's public address as the gateway itself works it out (PUBLIC_URL, else
    http://HOST:PORT): the launcher and the deployment give every process the same variables,
    so a service that builds absolute links (a provider's return and callback addresses)
    needs no setting of its own."""
    env = os.environ if environ is None else environ
    public = env.get("PUBLIC_URL", "").strip().rstrip("/")
    return public or f"http://{env.get('HOST') or '127.0.0.1'}:{env.get('PORT') or '8000'}"
